"""Handles used from many threads at once: each thread with its own handle
of one shared object, or one handle shared by threads.  Every thread run is
bounded in time (run_threads fails if a thread is still alive)."""
import sys
import threading

import pytest

from conftest import run_threads
from threadhandle import ThreadHandle, unwrap

THREADS = 8


@pytest.fixture(autouse=True)
def frequent_switches():
    """With a GIL, switch threads often so their operations interleave."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)


class LockedCounter:
    __slots__ = ("lock", "value")

    def __init__(self):
        self.lock = threading.Lock()
        self.value = 0

    def increment(self):
        with self.lock:
            self.value += 1

    def read(self):
        return self.value


def test_each_thread_counts_through_its_own_handle():
    counter = LockedCounter()
    barrier = threading.Barrier(THREADS, timeout=60)
    per_thread = 20000

    def count(_):
        h = ThreadHandle(counter)
        barrier.wait()
        for _ in range(per_thread):
            h.increment()

    run_threads(count, THREADS)
    assert counter.value == THREADS * per_thread


def test_each_thread_appends_through_its_own_handle():
    shared = []
    barrier = threading.Barrier(THREADS, timeout=60)
    per_thread = 5000

    def append(index):
        h = ThreadHandle(shared)
        barrier.wait()
        for i in range(per_thread):
            h.append((index, i))

    run_threads(append, THREADS)
    assert len(shared) == THREADS * per_thread
    assert sorted(shared) == [(t, i) for t in range(THREADS)
                              for i in range(per_thread)]
    for t in range(THREADS):
        # Each thread's own appends stay in order.
        assert [i for (owner, i) in shared if owner == t] == \
            list(range(per_thread))


def test_each_thread_reads_a_shared_dict():
    shared = {i: str(i) for i in range(100)}
    barrier = threading.Barrier(THREADS, timeout=60)
    totals = [None] * THREADS

    def read(index):
        h = ThreadHandle(shared)
        barrier.wait()
        total = 0
        for _ in range(200):
            for key in h:
                total += len(h[key]) + len(h.get(key)) + (key in h)
            total += len(h)
        totals[index] = total

    run_threads(read, THREADS)
    expected = 200 * (sum(2 * len(str(i)) + 1 for i in range(100)) + 100)
    assert totals == [expected] * THREADS


def test_each_thread_writes_its_own_keys():
    shared = {}
    barrier = threading.Barrier(THREADS, timeout=60)

    def write(index):
        h = ThreadHandle(shared)
        barrier.wait()
        for i in range(500):
            h[(index, i)] = i
            h.setdefault(("common", i), index)
        for i in range(0, 500, 2):
            del h[(index, i)]

    run_threads(write, THREADS)
    assert len(shared) == THREADS * 250 + 500
    for index in range(THREADS):
        for i in range(500):
            assert ((index, i) in shared) is (i % 2 == 1)
    assert all(0 <= shared[("common", i)] < THREADS for i in range(500))


def test_operators_and_in_place_in_threads():
    shared = 10**20
    barrier = threading.Barrier(THREADS, timeout=60)
    results = [None] * THREADS

    def compute(index):
        h = ThreadHandle(shared)
        barrier.wait()
        local = h
        for _ in range(1000):
            local += index
            local = local - (h - shared)
        results[index] = (unwrap(local), h == shared, hash(h), h < local + 1)

    run_threads(compute, THREADS)
    for index, (value, equal, hashed, less) in enumerate(results):
        assert value == shared + 1000 * index
        assert equal and hashed == hash(shared) and less


def test_iterators_of_a_shared_list_in_threads():
    shared = list(range(1000))
    barrier = threading.Barrier(THREADS, timeout=60)
    sums = [None] * THREADS

    def iterate(index):
        h = ThreadHandle(shared)
        barrier.wait()
        it = ThreadHandle(iter(h))
        sums[index] = sum(it) + sum(reversed(h)) + sum(h[::2])

    run_threads(iterate, THREADS)
    expected = 2 * sum(range(1000)) + sum(range(0, 1000, 2))
    assert sums == [expected] * THREADS


def test_handles_made_and_dropped_concurrently():
    shared = {"key": "value"}
    baseline = sys.getrefcount(shared)
    barrier = threading.Barrier(THREADS, timeout=60)

    def churn(_):
        barrier.wait()
        for _ in range(10000):
            h = ThreadHandle(shared)
            assert h.get("key") == "value" and h["key"] == "value"
            g = ThreadHandle(h)
            assert unwrap(g) is shared

    run_threads(churn, THREADS)
    assert sys.getrefcount(shared) == baseline


def test_one_handle_shared_by_threads():
    # Not how handles are meant to be used, but it must stay correct.
    counter = LockedCounter()
    h = ThreadHandle(counter)
    h.increment()  # the creating thread fills its cache
    barrier = threading.Barrier(THREADS + 1, timeout=60)

    def count(_):
        barrier.wait()
        last = 0
        for done in range(1, 1001):
            h.increment()
            # The count only grows, and holds at least the creating
            # thread's increment and this thread's own.
            now = h.read()
            assert now >= max(last, done + 1), (now, last, done)
            last = now

    threads_done = threading.Event()

    def run_workers():
        try:
            run_threads(count, THREADS)
        finally:
            threads_done.set()

    runner = threading.Thread(target=run_workers)
    runner.start()
    barrier.wait()
    owner_calls = 0
    while not threads_done.is_set() and owner_calls < 10**5:
        h.increment()
        owner_calls += 1
    runner.join(60)
    assert not runner.is_alive()
    assert counter.value == 1 + THREADS * 1000 + owner_calls


def test_handle_used_from_a_thread_other_than_its_creator():
    obj = {"a": [1, 2, 3]}
    h = ThreadHandle(obj)
    h.get("a")  # cached in this thread
    results = {}

    def use(_):
        results["get"] = h.get("a")
        results["item"] = h["a"][1]
        results["len"] = len(h)
        results["keys"] = list(h)
        h["b"] = "set in the thread"
        results["same"] = h.get is h.get

    run_threads(use, 1)
    assert results["get"] == [1, 2, 3] and results["item"] == 2
    assert results["len"] == 1 and results["keys"] == ["a"]
    assert obj["b"] == "set in the thread"
    assert h.get("b") == "set in the thread"


def test_handle_made_in_a_thread_used_after_it_ended():
    made = []

    def make(_):
        h = ThreadHandle([1, 2])
        h.append(3)
        made.append(h)

    run_threads(make, 1)
    h = made[0]
    h.append(4)
    assert h.count(4) == 1 and unwrap(h) == [1, 2, 3, 4]
    assert h.pop() == 4 and h.index(3) == 2


def test_handles_passed_between_threads():
    obj = []
    handles = [ThreadHandle(obj) for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS, timeout=60)

    def use(index):
        barrier.wait()
        # Each thread uses another thread's handle.
        h = handles[(index + 1) % THREADS]
        for i in range(500):
            h.append(i)

    run_threads(use, THREADS)
    assert len(obj) == THREADS * 500
