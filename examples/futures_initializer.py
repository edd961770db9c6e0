"""concurrent.futures: a per-worker handle made by the pool's initializer.

The initializer runs once in each worker thread; it stores that thread's
handle in a threading.local, where the tasks find it.
"""
import threading
from concurrent.futures import ThreadPoolExecutor

from threadhandle import ThreadHandle

# A shared lookup table (e.g. a model's parameters, a config, a cache).
weights = {f"feature{i}": i / 10 for i in range(20)}
worker_state = threading.local()


def init_worker(table):
    worker_state.weights = ThreadHandle(table)


def score(sample):
    weights_here = worker_state.weights     # this worker's handle
    return round(sum(weights_here[name] * value
                     for name, value in sample.items()), 6)


samples = [{f"feature{i}": (i + j) % 3 for i in range(20)}
           for j in range(200)]

with ThreadPoolExecutor(max_workers=4, initializer=init_worker,
                        initargs=(weights,)) as pool:
    scores = list(pool.map(score, samples))

print("scored", len(scores), "samples")
print("first three:", scores[:3])
print("total:", round(sum(scores), 6))
