"""The contention sampler survives os.fork(): a child of a process whose
sampler sweeps (its mutex held most of the time) never waits on that mutex
or on the sampling thread, which the child does not have; the sampler it
inherited answers at once, and a new one works.

The forking runs in a child interpreter, so that a hung grandchild is
killed there, within a deadline, and the test fails instead of hanging."""
import subprocess
import sys
import textwrap

import pytest

from threadhandle._threadhandle import _SAMPLER_AVAILABLE

pytestmark = [
    pytest.mark.skipif(not _SAMPLER_AVAILABLE,
                       reason="the sampler exists on free-threaded builds"),
    pytest.mark.thread_unsafe(reason="forks, with threads of its own"),
]

FORKS = 50

# Two threads hammer the candidates, a third swaps them in again and again
# (so that fork() finds threads waiting for the sampler's mutex); the
# sampler sweeps flat out (duty 1, no minimum gap), so fork() nearly always
# copies its mutex held.  Each
# child uses the inherited sampler (every call must return), makes and
# runs a new one, and leaves with os._exit(0).  The parent waits for each
# child with a deadline, kills one that does not end and stops there.
PROGRAM = textwrap.dedent(f"""
    import os, sys, threading, time, warnings
    from threadhandle._threadhandle import _Sampler

    warnings.simplefilter("ignore", DeprecationWarning)  # fork + threads
    shared = {{i: i for i in range(100)}}
    items = [0] * 10
    candidates = (shared, items) + tuple(object() for _ in range(2000))
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            for _ in range(1000):
                shared[5]
                items[5] = 1

    def swap():
        while not stop.is_set():
            sampler.swap(candidates)
            sampler.resume()
            sampler.stats()

    sampler = _Sampler(1.0, 1e6)
    sampler.start()
    sampler.swap(candidates)
    sampler.resume()
    threads = [threading.Thread(target=hammer) for _ in range(2)]
    threads.append(threading.Thread(target=swap))
    for thread in threads:
        thread.start()

    def child():
        sweeps, busy, size = sampler.stats()
        assert size == len(candidates), size
        sampler.resume()
        counts = sampler.swap(None)
        assert counts[0] >= 0 and len(counts[1]) == len(candidates)
        sampler.stop()
        sampler.stop()
        try:
            sampler.start()
        except RuntimeError:
            pass
        else:
            raise AssertionError("started twice")
        own = _Sampler(1.0, 1e6)
        own.start()
        own.swap((shared, items))
        own.resume()
        deadline = time.monotonic() + 10
        while own.stats().sweeps < 10 and time.monotonic() < deadline:
            shared[5]
        assert own.stats().sweeps >= 10, own.stats()
        assert own.swap(None).sweeps >= 1
        own.stop()

    hung = failed = forks = 0
    while forks < {FORKS} and not hung:
        forks += 1
        time.sleep(0.005)
        pid = os.fork()
        if pid == 0:
            try:
                child()
            except BaseException as error:
                print("child:", repr(error), flush=True)
                os._exit(1)
            os._exit(0)
        deadline = time.monotonic() + 10
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                failed += os.waitstatus_to_exitcode(status) != 0
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                hung += 1
                break
            time.sleep(0.01)
    stop.set()
    for thread in threads:
        thread.join()
    sampler.stop()
    print(f"forks {{forks}} hung {{hung}} failed {{failed}}")
""")


def test_children_of_fork_never_wait_on_the_sampler():
    try:
        run = subprocess.run([sys.executable, "-P", "-c", PROGRAM],
                             capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired as hung:
        pytest.fail(f"the forking process hung: {hung.stdout!r}")
    last = run.stdout.splitlines()[-1:]
    assert last == [f"forks {FORKS} hung 0 failed 0"], run.stdout + run.stderr
    assert run.returncode == 0, run.stderr
