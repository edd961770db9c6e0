"""A pool of worker threads over one shared, read-mostly dict.

Each worker makes its handle once, when it starts, and uses it for every
task it takes from the queue.
"""
import queue
import threading

from threadhandle import ThreadHandle

WORKERS = 4
vocabulary = {word: index for index, word in
              enumerate("the quick brown fox jumps over a lazy dog".split())}
sentences = [
    "the quick brown fox",
    "a lazy dog",
    "the dog jumps over the fox",
    "over the lazy brown dog",
] * 25
tasks: "queue.Queue[tuple[int, str] | None]" = queue.Queue()
results: dict[int, list[int]] = {}
results_lock = threading.Lock()


def worker():
    words = ThreadHandle(vocabulary)     # one handle per worker thread
    while True:
        task = tasks.get()
        if task is None:
            return
        number, sentence = task
        encoded = [words[word] for word in sentence.split()]
        with results_lock:
            results[number] = encoded


threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
for thread in threads:
    thread.start()
for task in enumerate(sentences):
    tasks.put(task)
for _ in threads:
    tasks.put(None)
for thread in threads:
    thread.join()

print("encoded", len(results), "sentences")
print("first:", results[0])
print("last:", results[len(sentences) - 1])
