"""Stress: many threads use shared objects through their own handles while
other threads mutate the objects, make and drop handles, collect garbage,
reassign ``__class__`` and replace methods on classes (which invalidates
the per-handle attribute caches).

Bounded in time: THREADHANDLE_STRESS_SECONDS (default 30) in all, split
between the tests below.  The operations each thread runs come from a
random.Random seeded with THREADHANDLE_STRESS_SEED (default below) plus the
thread's index; the seed is printed, and shown when a test fails.  The
interleaving of threads is not reproducible, the operation mix is.

Run alone with ``python -m pytest tests/test_stress.py``.
"""

import gc
import os
import random
import sys
import threading
import time
import traceback
import weakref

from threadhandle import (
    ThreadHandle,
    clear_local_handles,
    local_handle,
    release_local_handle,
    unwrap,
)
from threadhandle import local as local_module

DEFAULT_SEED = 20250501
SEED = int(os.environ.get("THREADHANDLE_STRESS_SEED", DEFAULT_SEED))
TOTAL_SECONDS = float(os.environ.get("THREADHANDLE_STRESS_SECONDS", 30))

THREADS = 16
# Threads still running this long after their deadline count as hung.
JOIN_GRACE = 120.0

# The exceptions the operations themselves may raise when another thread
# changes the object in between, with the message each must contain.
RACE_EXCEPTIONS = (
    (KeyError, ""),
    (IndexError, ""),
    (RuntimeError, "changed size during iteration"),
    (RuntimeError, "changed during iteration"),
    (ValueError, "list modified during sort"),
    (ValueError, "not in list"),
)


def is_race_exception(exc):
    return any(
        type(exc) is kind and text in str(exc)
        for kind, text in RACE_EXCEPTIONS
    )


class Stress:
    """Shared state of one stress run: the deadline, the errors the threads
    found, and the counts of what they did."""

    def __init__(self, seconds, seed):
        self.seed = seed
        self.deadline = time.monotonic() + seconds
        self.errors = []
        self.errors_lock = threading.Lock()
        self.counts = {}
        self.start = threading.Barrier(THREADS)

    def running(self):
        return time.monotonic() < self.deadline and not self.errors

    def fail(self, role, index, message):
        with self.errors_lock:
            self.errors.append(f"{role}[{index}]: {message}")

    def run(self, roles):
        """Run each (role name, function, count) in its own threads:
        function(index, rng) until the deadline.  Returns when all are
        done; fails with every error found, and the seed."""
        threads = []
        index = 0
        for name, func, count in roles:
            for _ in range(count):
                rng = random.Random(self.seed * 1000 + index)
                threads.append(
                    threading.Thread(
                        target=self._thread,
                        args=(name, func, index, rng),
                        name=f"stress-{name}-{index}",
                    )
                )
                index += 1
        assert index == THREADS, index
        for thread in threads:
            thread.start()
        timeout = max(0.0, self.deadline - time.monotonic()) + JOIN_GRACE
        for thread in threads:
            thread.join(timeout)
        hung = [thread.name for thread in threads if thread.is_alive()]
        assert not hung, f"seed={self.seed}: still running: {hung}"
        assert not self.errors, (
            f"seed={self.seed} (THREADHANDLE_STRESS_SEED): "
            f"{len(self.errors)} error(s):\n" + "\n".join(self.errors[:20])
        )

    def _thread(self, name, func, index, rng):
        try:
            self.start.wait()
            done = func(index, rng)
        except BaseException:  # noqa: BLE001 - reported with the seed
            self.fail(name, index, traceback.format_exc())
            return
        with self.errors_lock:
            self.counts[name] = self.counts.get(name, 0) + done

    def attempt(self, role, index, operation, *args):
        """operation(*args), tolerating only the race exceptions; whether it
        succeeded."""
        try:
            operation(*args)
        except Exception as exc:  # noqa: BLE001 - checked just below
            if is_race_exception(exc):
                return False
            self.fail(
                role,
                index,
                f"{getattr(operation, '__name__', operation)}: "
                + "".join(traceback.format_exception(exc)),
            )
            raise StopThread from exc
        return True


class StopThread(Exception):
    """An unexpected exception was recorded; the thread stops."""


def unexpected(stress, name, index, what):
    stress.fail(name, index, what)
    raise StopThread(what)


def checker(stress, name, index):
    """check(condition, what) for thread `index` of role `name`: records
    `what` as an error and stops the thread unless condition holds."""

    def check(condition, what):
        if not condition:
            unexpected(stress, name, index, what)

    return check


def report(stress, seconds):
    print(
        f"stress seed={stress.seed} seconds={seconds:.1f} "
        f"operations={dict(sorted(stress.counts.items()))}"
    )


# --------------------------------------------- shared builtin containers


def test_shared_containers_through_handles():
    """Dicts, lists and sets shared by 16 threads.  Each user thread owns
    some keys, list items and set elements (so their final contents are
    known exactly) and also reads and writes shared ones at random."""
    seconds = TOTAL_SECONDS * 0.4
    stress = Stress(seconds, SEED)
    print(f"stress seed={SEED} seconds={seconds:.1f}")
    shared_dict = {("shared", i): i for i in range(64)}
    shared_list = []  # users' own tokens only: final content known
    scratch_list = list(range(64))
    shared_set = set(range(64))
    handles_pool = []  # handles made by one thread, used by others
    expected = {}  # index -> (dict items, list tokens, set items)

    def user(index, rng):
        hd, hl, hs = (
            ThreadHandle(shared_dict),
            ThreadHandle(shared_list),
            ThreadHandle(shared_set),
        )
        hscratch = ThreadHandle(scratch_list)
        own_items = {}
        own_tokens = []
        own_elements = set()
        serial = 0
        done = 0

        check = checker(stress, "user", index)

        def check_foreign_handle(h):
            """h, made by any user thread, handles one of the shared
            objects, which holds at least this thread's own entries: its
            len() and bool() say so, and its copy() (taken under the
            object's lock) has them all."""
            obj = unwrap(h)
            own = {
                id(shared_dict): own_items,
                id(shared_list): own_tokens,
                id(shared_set): own_elements,
            }.get(id(obj))
            check(own is not None, f"foreign handle of {type(obj)}")
            check(len(h) >= len(own), "foreign handle: len()")
            check(bool(h) or not own, "foreign handle: bool()")
            snapshot = h.copy()
            check(type(snapshot) is type(obj), "foreign copy(): type")
            if obj is shared_dict:
                check(
                    own_items.items() <= snapshot.items(),
                    "foreign copy(): own keys",
                )
            elif obj is shared_list:
                check(
                    [t for t in snapshot if t[1] == index] == own_tokens,
                    "foreign copy(): own tokens",
                )
            else:
                check(own_elements <= snapshot, "foreign copy(): own elements")

        def key():
            return ("own", index, rng.randrange(32))

        def shared_key():
            return ("shared", rng.randrange(96))

        while stress.running():
            done += 1
            choice = rng.randrange(30)
            # --- dict, own keys: exact mirror
            if choice == 0:
                k, v = key(), rng.randrange(1000)
                hd[k] = v
                own_items[k] = v
            elif choice == 1:
                k = key()
                check(hd.pop(k, None) == own_items.pop(k, None), "dict.pop")
            elif choice == 2:
                k = key()
                check(hd.get(k) == own_items.get(k), "dict.get")
                check((k in hd) == (k in own_items), "dict contains")
            elif choice == 3:
                update = {key(): rng.randrange(1000) for _ in range(3)}
                if rng.random() < 0.5:
                    hd.update(update)
                else:
                    hd |= update
                own_items.update(update)
            elif choice == 4:
                k = key()
                if k in own_items:
                    del hd[k]
                    del own_items[k]
                else:
                    check(hd.setdefault(k, 7) == 7, "dict.setdefault")
                    own_items[k] = 7
            # --- dict, shared keys: anything goes
            elif choice == 5:
                stress.attempt("user", index, hd.__getitem__, shared_key())
            elif choice == 6:
                hd[shared_key()] = rng.randrange(1000)
            elif choice == 7:
                stress.attempt("user", index, hd.__delitem__, shared_key())
            elif choice == 8:
                stress.attempt(
                    "user", index, lambda: sum(1 for _ in hd.items())
                )
            elif choice == 9:
                check(len(hd) >= len(own_items), "len(dict)")
                check(hd == hd and not (hd != shared_dict), "dict ==")
                merged = hd | {"x": 1}
                check(merged["x"] == 1, "dict |")
            # --- list: own tokens appended at the end and removed
            elif choice == 10:
                serial += 1
                token = ("own", index, serial)
                way = rng.randrange(3)
                if way == 0:
                    hl.append(token)
                elif way == 1:
                    hl.extend([token])
                else:
                    hl += [token]
                    check(
                        type(hl) is ThreadHandle and unwrap(hl) is shared_list,
                        "list += must keep the same handle",
                    )
                own_tokens.append(token)
            elif choice == 11 and own_tokens:
                token = own_tokens.pop(rng.randrange(len(own_tokens)))
                hl.remove(token)
            elif choice == 12:
                n = len(hl)
                if n:
                    stress.attempt(
                        "user", index, hl.__getitem__, rng.randrange(-n, n)
                    )
                stress.attempt("user", index, hl.__getitem__, slice(0, 5))
            elif choice == 13:
                # Not `own_tokens[-1] in hl`: on free-threaded builds a
                # list's `in` reads without the lock and can miss an item
                # while other threads remove earlier ones (plain lists too).
                check(("own", index, -1) not in hl, "absent token in list")
                check(hl.count(("own", index, -1)) == 0, "absent token count")
            elif choice == 14:
                copy_ = hl + []
                check(type(copy_) is list, "list +")
                check(
                    type([1] + hl) is list
                    and type(2 * hl) is list
                    and type(hl * 2) is list,
                    "reflected list ops",
                )
                stress.attempt("user", index, lambda: [t for t in hl])
            # --- scratch list, shared by everyone
            elif choice == 15:
                stress.attempt("user", index, hscratch.pop)
            elif choice == 16:
                hscratch.insert(rng.randrange(-5, 70), rng.randrange(100))
            elif choice == 17:
                n = len(hscratch)
                if n:
                    stress.attempt(
                        "user",
                        index,
                        hscratch.__setitem__,
                        rng.randrange(-n, n),
                        rng.randrange(100),
                    )
            elif choice == 18:
                stress.attempt("user", index, hscratch.sort)
                stress.attempt("user", index, lambda: sorted(hscratch))
            # --- set: own elements exact, shared ones at random
            elif choice == 19:
                element = key()
                hs.add(element)
                own_elements.add(element)
            elif choice == 20:
                element = key()
                hs.discard(element)
                own_elements.discard(element)
            elif choice == 21:
                element = key()
                check(
                    (element in hs) == (element in own_elements),
                    "set contains",
                )
            elif choice == 22:
                n = rng.randrange(96)
                if rng.random() < 0.5:
                    hs.add(n)
                else:
                    stress.attempt("user", index, hs.remove, n)
            elif choice == 23:
                stress.attempt("user", index, lambda: sum(1 for _ in hs))
                stress.attempt("user", index, lambda: hs | {-1})
                stress.attempt("user", index, lambda: hs & {1, 2, 3})
            elif choice == 24:
                # In-place set operators give a handle of the same set.
                before = hs
                hs -= {("nobody", 0)}
                hs |= set()
                check(hs is before, "set in-place op must keep the handle")
            # --- handles made and dropped, used by other threads
            elif choice == 25:
                h = ThreadHandle(
                    rng.choice((shared_dict, shared_list, shared_set))
                )
                handles_pool.append(h)
                if len(handles_pool) > 64:
                    stress.attempt("user", index, handles_pool.pop, 0)
            elif choice == 26:
                if handles_pool:
                    h = stress_choice(rng, handles_pool)
                    if h is not None:
                        check_foreign_handle(h)
            elif choice == 27:
                h = ThreadHandle(ThreadHandle(hd))
                check(
                    unwrap(h) is shared_dict and h == shared_dict,
                    "handle of handle",
                )
            elif choice == 28:
                check(
                    hash(ThreadHandle(("own", index))) == hash(("own", index)),
                    "hash",
                )
                check(
                    str(hl)[:1] == "[" and format(hd)[:1] == "{", "str/format"
                )
            else:
                check(
                    hd.__class__ is dict and hl.__class__ is list, "__class__"
                )
        expected[index] = (own_items, own_tokens, own_elements)
        return done

    def mutator(index, rng):
        done = 0
        while stress.running():
            done += 1
            choice = rng.randrange(8)
            if choice == 0:
                scratch_list[:] = [rng.randrange(100) for _ in range(64)]
            elif choice == 1:
                scratch_list.reverse()
            elif choice == 2:
                for i in range(8):
                    shared_dict[("shared", rng.randrange(96))] = i
            elif choice == 3:
                stress.attempt(
                    "mutator",
                    index,
                    shared_dict.pop,
                    ("shared", rng.randrange(96)),
                )
            elif choice == 4:
                shared_set.symmetric_difference_update(
                    {rng.randrange(96) for _ in range(8)}
                )
            elif choice == 5:
                stress.attempt(
                    "mutator", index, shared_set.remove, rng.randrange(96)
                )
            elif choice == 6:
                del scratch_list[: rng.randrange(4)]
                scratch_list.extend(range(rng.randrange(6)))
            else:
                # A burst of new keys, to make the dict resize under readers.
                for i in range(rng.randrange(200)):
                    shared_dict[("burst", index, i)] = i
                for i in range(200):
                    shared_dict.pop(("burst", index, i), None)
            # Pace: with 2 cores, mutators that never pause starve the
            # users waiting on the same objects' locks.
            time.sleep(rng.random() * 0.002)
        return done

    def collector(index, rng):
        done = 0
        while stress.running():
            done += 1
            # A cycle through a handle: a list holding a handle of itself.
            cycle = []
            cycle.append(ThreadHandle(cycle))
            ref = weakref.ref(cycle[0])
            del cycle
            # gc.collect() returns at once if another collection (an
            # automatic one in another thread) is running: retry.
            for _ in range(200):
                gc.collect()
                if ref() is None:
                    break
                time.sleep(0.005)
            else:
                unexpected(
                    stress,
                    "collector",
                    index,
                    "a cycle through a handle was never collected",
                )
            time.sleep(rng.random() * 0.1)
        return done

    roles = [
        ("user", user, 12),
        ("mutator", mutator, 3),
        ("collector", collector, 1),
    ]
    stress.run(roles)
    report(stress, seconds)

    # Every thread's own keys, tokens and elements are exactly there.
    for index, (own_items, own_tokens, own_elements) in expected.items():
        in_dict = {
            k: v
            for k, v in shared_dict.items()
            if k[0] == "own" and k[1] == index
        }
        assert in_dict == own_items, f"seed={SEED}: dict of user {index}"
        # Removals keep the order of the rest: still in append order.
        in_list = [t for t in shared_list if t[1] == index]
        assert in_list == own_tokens, f"seed={SEED}: list of user {index}"
        in_set = {
            e for e in shared_set if isinstance(e, tuple) and e[1] == index
        }
        assert in_set == own_elements, f"seed={SEED}: set of user {index}"
    assert len(expected) == 12
    assert len(shared_list) == sum(len(t) for _, t, _ in expected.values())
    assert all(type(unwrap(h)) in (dict, list, set) for h in handles_pool)


def stress_choice(rng, pool):
    """A random element of a list other threads change, or None."""
    try:
        return pool[rng.randrange(len(pool))]
    except (IndexError, ValueError):
        return None


# ----------------------------------- user objects, classes that change


class Base:
    """Layout shared by A and B, so that ``__class__`` can move between
    them.  No instance __dict__: bound methods of these objects are cached
    in the handles."""

    __slots__ = ("value", "counts", "__weakref__")

    def __init__(self, value):
        self.value = value
        self.counts = [0] * THREADS

    def bump(self, index):
        # Only thread `index` writes counts[index]: no lost update.
        self.counts[index] += 1
        return self.counts[index]

    def get(self):
        return self.value

    def __add__(self, other):
        return self.value + other

    def __radd__(self, other):
        return other + self.value

    def __eq__(self, other):
        return isinstance(other, Base) and self.value == other.value

    def __hash__(self):
        return hash(self.value)

    def __len__(self):
        return self.value

    def __getitem__(self, i):
        if not 0 <= i < self.value:
            raise IndexError(i)
        return i * 2

    def __contains__(self, item):
        return item == self.value


def make_kind(letter, version):
    def kind(self):
        return f"{letter}{version}"

    return kind


def make_spare(n):
    def spare(self):
        return n

    spare.__name__ = f"m{n}"
    return spare


def make_class(letter):
    """A new subclass of Base named `letter`, layout-compatible with every
    other one.  New classes replace old ones before CPython stops giving
    them version tags (after about 1000 changes per class), so that bound
    methods stay cacheable all through the run."""
    return type(
        letter, (Base,), {"__slots__": (), "kind": make_kind(letter, 0)}
    )


# More method names than a handle's cache has entries, to churn it.
# Interned, as names written in code are: the attribute cache keeps only
# interned names (getattr(h, f"m{n}") alone would never be cached).
SPARE_METHODS = [sys.intern(f"m{n}") for n in range(10)]
for _n, _name in enumerate(SPARE_METHODS):
    setattr(Base, _name, make_spare(_n))

VERSIONS = (0, 1, 2)
KINDS = {f"{letter}{v}" for letter in "AB" for v in VERSIONS}
# Changes of a class before it is replaced by a new one, and of Base in all
# (Base cannot be replaced; each change of it also counts for A and B).
CLASS_CHANGES = 400
BASE_CHANGES = 300


def test_user_objects_with_changing_classes():
    """User objects shared by all threads while their classes change: one
    thread replaces methods on the classes, two reassign ``__class__``
    between them.  Cached bound methods must never outlive those changes:
    each changing thread checks its own changes exactly through its
    handles."""
    seconds = TOTAL_SECONDS * 0.3
    stress = Stress(seconds, SEED + 1)
    print(f"stress seed={SEED + 1} seconds={seconds:.1f}")
    classes = {"A": make_class("A"), "B": make_class("B")}
    shared = [classes["AB"[i % 2]](i + 1) for i in range(6)]
    bumps = [0] * THREADS

    def user(index, rng):
        handles = [ThreadHandle(o) for o in shared]
        done = 0

        check = checker(stress, "user", index)

        while stress.running():
            done += 1
            i = rng.randrange(len(shared))
            h, obj = handles[i], shared[i]
            choice = rng.randrange(12)
            if choice == 0:
                h.bump(index)
                bumps[index] += 1
            elif choice == 1:
                check(h.kind() in KINDS, "kind()")
            elif choice == 2:
                check(h.get() == obj.value and h.value == obj.value, "get()")
            elif choice == 3:
                name = rng.choice(SPARE_METHODS)
                check(getattr(h, name)() == int(name[1:]), name)
            elif choice == 4:
                check(h + 1 == obj.value + 1 and 1 + h == obj.value + 1, "+")
            elif choice == 5:
                check(
                    h == obj and hash(h) == hash(obj) and not (h != obj),
                    "== / hash",
                )
            elif choice == 6:
                check(len(h) == obj.value and obj.value in h, "len / in")
                check(list(h) == [2 * k for k in range(obj.value)], "iter")
            elif choice == 7:
                check(
                    isinstance(h, Base) and h.__class__.__name__ in ("A", "B"),
                    "__class__",
                )
            elif choice == 8:
                # Through a handle another thread made: no cache there.
                other = ThreadHandle(obj)
                check(other.get() == obj.value, "fresh handle")
            elif choice == 9:
                # A bound method taken through the handle outlives it.
                method = h.bump
                method(index)
                bumps[index] += 1
            elif choice == 10:
                handles[i] = ThreadHandle(obj)
            else:
                check(h.bump.__self__ is obj, "bound method's __self__")
        return done

    def class_switcher(index, rng):
        own = classes["A"](3)
        h = ThreadHandle(own)
        done = 0
        while stress.running():
            done += 1
            # Warm the cache, switch the class, then the handle must see
            # the new class's method at once.
            letter = rng.choice("AB")
            h.kind()
            own.__class__ = classes[letter]
            kind = h.kind()
            if kind[0] != letter:
                unexpected(
                    stress,
                    "class_switcher",
                    index,
                    f"kind() is {kind!r} after __class__ = {letter}",
                )
            rng.choice(shared).__class__ = classes[rng.choice("AB")]
        return done

    def method_replacer(index, rng):
        own = {"A": classes["A"](1), "B": classes["B"](1)}
        handles = {letter: ThreadHandle(obj) for letter, obj in own.items()}
        changes = {"A": 0, "B": 0}
        base_changes = 0
        done = 0
        while stress.running():
            done += 1
            letter = rng.choice("AB")
            if changes[letter] >= CLASS_CHANGES:
                classes[letter] = make_class(letter)
                own[letter].__class__ = classes[letter]
                changes[letter] = 0
            cls = classes[letter]
            version = rng.choice(VERSIONS)
            handles[letter].kind()
            cls.kind = make_kind(letter, version)
            changes[letter] += 1
            got = handles[letter].kind()
            if got != f"{letter}{version}":
                unexpected(
                    stress,
                    "method_replacer",
                    index,
                    f"kind() is {got!r} after {letter}.kind = version"
                    f" {version}",
                )
            if base_changes < BASE_CHANGES and rng.random() < 0.05:
                # Changes of Base reach A and B through the MRO.
                base_changes += 1
                changes["A"] += 1
                changes["B"] += 1
                if rng.random() < 0.5:
                    name = rng.choice(SPARE_METHODS)
                    setattr(Base, name, make_spare(int(name[1:])))
                else:
                    Base.bump = Base.__dict__["bump"]  # same function, new tag
        return done

    def collector(index, rng):
        done = 0
        while stress.running():
            done += 1
            gc.collect()
            time.sleep(rng.random() * 0.1)
        return done

    roles = [
        ("user", user, 12),
        ("class_switcher", class_switcher, 2),
        ("method_replacer", method_replacer, 1),
        ("collector", collector, 1),
    ]
    stress.run(roles)
    report(stress, seconds)

    for index in range(THREADS):
        total = sum(obj.counts[index] for obj in shared)
        assert (
            total == bumps[index]
        ), f"seed={stress.seed}: bumps of thread {index}"
    assert sum(bumps) > 0
    assert all(
        isinstance(obj, Base) and type(obj).__name__ in ("A", "B")
        for obj in shared
    )


# ------------------------------- one handle used by many threads at once


class Service:
    """Many methods, more than a handle's cache has entries."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


for _n in range(12):
    setattr(Service, f"m{_n}", make_spare(_n))


def test_handles_shared_between_threads_while_their_owner_caches():
    """Handles are meant to be one per thread, but sharing one is allowed
    (only slower): the thread that made a handle fills and churns its
    attribute cache while other threads call methods, read attributes and
    take sys.getsizeof() of the same handle.  Each owner keeps making new
    handles, so that the cache's first allocation races with readers."""
    seconds = TOTAL_SECONDS * 0.1
    stress = Stress(seconds, SEED + 2)
    print(f"stress seed={SEED + 2} seconds={seconds:.1f}")
    services = [Service(i) for i in range(4)]
    published = [ThreadHandle(s) for s in services]  # slot i: owner i's
    names = [sys.intern(f"m{n}") for n in range(12)]  # cacheable names
    # sys.getsizeof() of a handle: its own size, plus the attribute cache's
    # once one is allocated; never anything else, even while the owner
    # allocates the cache.
    bare = ThreadHandle(Service(0))
    cached = ThreadHandle(Service(0))
    cached.m0()
    sizes = {sys.getsizeof(bare), sys.getsizeof(cached)}
    assert len(sizes) == 2, sizes

    def owner(index, rng):
        done = 0
        service = services[index]
        while stress.running():
            done += 1
            h = ThreadHandle(service)
            published[index] = h
            for name in rng.sample(names, 6):
                if getattr(h, name)() != int(name[1:]):
                    unexpected(stress, "owner", index, f"{name}() wrong")
            if h.value != index:
                unexpected(stress, "owner", index, "value wrong")
        return done

    def reader(index, rng):
        done = 0
        while stress.running():
            done += 1
            slot = rng.randrange(len(published))
            h = published[slot]
            name = rng.choice(names)
            if getattr(h, name)() != int(name[1:]) or h.value != slot:
                unexpected(stress, "reader", index, f"{name} via {slot}")
            size = sys.getsizeof(h)
            if size not in sizes:
                unexpected(
                    stress, "reader", index, f"getsizeof {size} not in {sizes}"
                )
        return done

    roles = [("owner", owner, 4), ("reader", reader, 12)]
    stress.run(roles)
    report(stress, seconds)
    assert stress.counts["owner"] > 0 and stress.counts["reader"] > 0


# ------------------------------- instances with a __dict__ that change


class Plain:
    """An ordinary class instance: methods and attributes through a handle
    are cached (3.14t: read from its inline values)."""

    def __init__(self, x):
        self.x = x

    def m(self):
        return "Plain.m"


class Other:
    """Layout-compatible with Plain, so __class__ can move between them."""

    def m(self):
        return "Other.m"


def shadow_m():
    return "shadow"


def patched_m(self):
    return "patched"


M_RESULTS = {"Plain.m", "Other.m", "shadow", "patched"}
PATCHES_PER_CLASS = 300


def test_instances_whose_dicts_and_classes_change():
    """Threads call h.m() and read h.x through their own handles of shared
    instances while other threads shadow and unshadow m, set and delete x,
    replace __dict__, reassign __class__ and patch the classes.

    Each reader also owns one instance that only it changes, and checks
    through its handle that m() and x are exactly what its changes made
    them (the class's m may be patched meanwhile); the others read it too.
    On the shared instances every x written is larger than the last, so a
    reader that sees x go down got a stale value, and m() must give an
    answer some state has."""
    seconds = TOTAL_SECONDS * 0.1
    stress = Stress(seconds, SEED + 4)
    print(f"stress seed={SEED + 4} seconds={seconds:.1f}")
    readers = 13
    shared = [Plain(0) for _ in range(3)]
    owned = [Plain(0) for _ in range(readers)]
    counter = iter(range(1, 10**12))
    # Held while a shared x is written, so writes come in increasing order.
    write_lock = threading.Lock()

    def mutator(index, rng):
        done = 0
        while stress.running():
            done += 1
            obj = rng.choice(shared)
            action = rng.randrange(7)
            if action == 0:
                obj.m = shadow_m
            elif action == 1:
                obj.__dict__.pop("m", None)
            elif action == 2:
                with write_lock:
                    obj.x = next(counter)
            elif action == 3:
                obj.__dict__.pop("x", None)
            elif action == 4:
                with write_lock:
                    obj.__dict__ = {"x": next(counter)}
            elif action == 5:
                obj.__class__ = Other if type(obj) is Plain else Plain
            else:
                setattr(obj, f"extra{rng.randrange(40)}", 0)
        return done

    def patcher(index, rng):
        # Paced and capped: a class changed about 1000 times gets no more
        # version tags, and then nothing of it is cached.
        done = 0
        while stress.running() and done < 2 * PATCHES_PER_CLASS:
            done += 1
            time.sleep(seconds / (4 * PATCHES_PER_CLASS))
            cls = rng.choice((Plain, Other))
            if vars(cls)["m"] is patched_m:
                cls.m = make_class_method(cls)
            else:
                cls.m = patched_m
        return done

    def check_owned(index, h, obj, shadowed, x):
        result = h.m()
        if shadowed:
            expected = {"shadow"}
        else:
            expected = {f"{type(obj).__name__}.m", "patched"}
        if result not in expected:
            unexpected(stress, "reader", index,
                       f"own m() gave {result!r}, expected {expected}")
        try:
            seen = h.x
        except AttributeError:
            seen = None
        if seen != x:
            unexpected(stress, "reader", index, f"own x {seen!r} != {x!r}")

    def reader(index, rng):
        done = 0
        obj = owned[index]
        own = ThreadHandle(obj)
        shadowed, x, next_own_x = False, 0, 1
        handles = [ThreadHandle(o) for o in shared + owned]
        last_x = [0] * len(shared)
        while stress.running():
            done += 1
            action = rng.randrange(6)
            if action == 0:
                obj.m, shadowed = shadow_m, True
            elif action == 1:
                obj.__dict__.pop("m", None)
                shadowed = False
            elif action == 2:
                obj.x, x, next_own_x = next_own_x, next_own_x, next_own_x + 1
            elif action == 3:
                obj.__dict__.pop("x", None)
                x = None
            elif action == 4:
                obj.__dict__ = {}
                shadowed, x = False, None
            else:
                obj.__class__ = Other if type(obj) is Plain else Plain
            check_owned(index, own, obj, shadowed, x)
            i = rng.randrange(len(handles))
            result = handles[i].m()
            if result not in M_RESULTS:
                unexpected(stress, "reader", index, f"m() gave {result!r}")
            try:
                seen = handles[i].x
            except AttributeError:
                continue
            if i < len(shared):
                if seen < last_x[i]:
                    unexpected(stress, "reader", index,
                               f"x went from {last_x[i]} to {seen}")
                last_x[i] = seen
        return done

    # Readers first: their thread indexes are 0 .. readers - 1.
    roles = [("reader", reader, readers), ("mutator", mutator, 2),
             ("patcher", patcher, 1)]
    stress.run(roles)
    report(stress, seconds)
    assert all(stress.counts[role] > 0
               for role in ("mutator", "patcher", "reader"))


def make_class_method(cls):
    """A fresh function that gives cls's own answer."""
    name = cls.__name__

    def m(self):
        return f"{name}.m"

    return m


# ------------------------------------------------------------ local_handle


class Finalized:
    """A short-lived object whose finalizer asks for a handle itself (of a
    shared object), as a callback might while its thread's cache evicts or
    clears it."""

    def __init__(self, value, shared):
        self.value = value
        self.shared = shared

    def __del__(self):
        if unwrap(local_handle(self.shared)) is not self.shared:
            raise AssertionError("finalizer got the wrong handle")


def test_local_handles_while_threads_evict_release_and_clear():
    """Every thread asks for handles of shared objects and of many short-
    lived ones (so its cache passes MAX_HANDLES_PER_THREAD and evicts),
    releases and clears entries, and the evicted objects' finalizers call
    local_handle() again.  A handle must always handle the object asked for,
    and be the same handle on the next call unless something dropped it.
    When the threads have ended, their caches must have let go of every
    short-lived object."""
    seconds = TOTAL_SECONDS * 0.1
    stress = Stress(seconds, SEED + 3)
    print(f"stress seed={SEED + 3} seconds={seconds:.1f}")
    shared = [{"table": i} for i in range(8)]
    limit = local_module.MAX_HANDLES_PER_THREAD
    refs = []
    refs_lock = threading.Lock()

    def worker(index, rng):
        done = 0
        made = 0
        while stress.running():
            done += 1
            choice = rng.random()
            obj = rng.choice(shared)
            if choice < 0.5:
                first = local_handle(obj)
                again = local_handle(obj)
                if unwrap(first) is not obj or again is not first:
                    unexpected(stress, "worker", index, "wrong handle")
                if again["table"] != obj["table"]:
                    unexpected(stress, "worker", index, "wrong value")
            elif choice < 0.9:
                # A short-lived object: cached, then dropped by eviction
                # once `limit` newer ones have been cached.
                temp = Finalized(made, rng.choice(shared))
                made += 1
                if made % 64 == 0:
                    with refs_lock:
                        refs.append(weakref.ref(temp))
                if unwrap(local_handle(temp)) is not temp:
                    unexpected(stress, "worker", index, "temp handle")
            elif choice < 0.98:
                old = local_handle(obj)
                if release_local_handle(obj) is not True:
                    unexpected(stress, "worker", index, "release lost")
                new = local_handle(obj)
                if new is old or unwrap(new) is not obj:
                    unexpected(stress, "worker", index, "after release")
            else:
                clear_local_handles()
        return done

    stress.run([("worker", worker, THREADS)])
    report(stress, seconds)
    gc.collect()
    alive = sum(ref() is not None for ref in refs)
    assert refs and alive == 0, (
        f"{alive} of {len(refs)} short-lived objects still alive after "
        f"their threads ended (limit {limit})")
