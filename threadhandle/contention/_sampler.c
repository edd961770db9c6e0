/* The contention sampler: a thread of its own that reads, over and over,
 * the header of a set of candidate objects and counts for each
 *
 *   - how often its shared reference count (ob_ref_shared) changed between
 *     two consecutive reads: only threads other than the object's owner
 *     touch that field, so a change means cross-thread refcount traffic;
 *   - how many reads found threads parked waiting for its per-object lock
 *     (ob_mutex): a lock one thread holds is no contention, however long
 *     it holds it; a lock others wait for is.  Only waits long enough for
 *     a thread to park show: a waiter first spins a little, unseen;
 *   - how fast its shared count changes: after each sweep, in bursts, it
 *     reads the counts of a few candidates whose count changed, one at a
 *     time, back to back for TH_BURST_NS, and counts the changes.  A sweep
 *     only says whether the count differed from the previous sweep's
 *     (a reference taken and dropped in between leaves it as it was), so
 *     its share of changes saturates at one per sweep; a burst reads about
 *     as fast as the count can change (a read after another core's write
 *     misses the cache), so its changes per second follow the traffic up
 *     to some millions a second.  threadhandle.contention turns that rate
 *     into the estimate of what the traffic costs the threads.
 *
 * Free-threaded builds only (the fields exist nowhere else); elsewhere
 * th_sampler_new() fails with a clear message.  threadhandle.contention
 * drives it (picking candidates, the report), through _Sampler in
 * _threadhandle.pyx: this file lives next to the finder, and is compiled
 * into the package's one extension (setup.py), as the handle's files are.
 * Its results are named records (structseqs, made by th_sampler_init()):
 * SamplerCounts from th_sampler_swap(), SamplerStats from
 * th_sampler_stats().
 *
 * The sampling thread is a plain OS thread, never attached to the
 * interpreter: it calls no Python API, so it never holds up a
 * stop-the-world pause of the GC.  The candidates are the items of a tuple
 * to which the sampler holds a strong reference, taken (and dropped) by the
 * attached thread that calls th_sampler_swap(); a tuple never changes its
 * items, so the sampling thread can read them without a reference of its
 * own.  It reads the header fields with relaxed atomic loads, as CPython's
 * own readers of those fields do.
 *
 * Fork: pthread_atfork handlers (registered once) take the mutex of every
 * live sampler before fork() and release them after, in the parent; in the
 * child, where the sampling thread does not exist, they reinitialise the
 * mutex and condition variable and mark each sampler as having no thread,
 * so that its later calls return at once (a swap still returns the
 * counts).  For prepare never to wait on a thread that waits on the
 * interpreter (os.fork() stops the world first), no thread holds a
 * sampler's mutex while it attaches: callers take it detached and do only
 * plain C work under it (lock_detached).
 *
 * Pacing: after each sweep the thread sleeps, so that its busy time is at
 * most `duty` of the wall time (a fraction `duty` of one core, whatever the
 * number of candidates) and two sweeps start at least `min_gap` apart.
 * Sweeping back to back would see nothing on a machine whose CPUs are all
 * busy: while the sampler runs, the thread it displaced does not touch
 * any count, so consecutive reads only differ when the program ran between
 * them.
 */
#include "handle.h"

/* The records the sampler hands back (all builds: the GIL build's stats
 * are zeros of the same kind). */
static PyTypeObject *counts_type;
static PyTypeObject *stats_type;

static PyStructSequence_Field counts_fields[] = {
    {"sweeps", "full sweeps counted over the set"},
    {"changes", "per candidate, in the set's order: sweeps that found its "
                "shared reference count changed since the previous one"},
    {"locked", "per candidate: sweeps that found threads parked waiting "
               "for its lock"},
    {"burst_changes", "per candidate: changes of its shared count seen in "
                      "bursts (its count read back to back)"},
    {"burst_seconds", "per candidate: seconds of bursts on it"},
    {NULL, NULL},
};

static PyStructSequence_Desc counts_desc = {
    "threadhandle._threadhandle.SamplerCounts",
    "What the sampler counted over one set of candidates (returned by "
    "_Sampler.swap()).",
    counts_fields,
    5,
};

static PyStructSequence_Field stats_fields[] = {
    {"sweeps", "sweeps over every set so far"},
    {"busy_seconds", "seconds the sampling thread spent sweeping and in "
                     "bursts"},
    {"candidates", "the size of the current set"},
    {NULL, NULL},
};

static PyStructSequence_Desc stats_desc = {
    "threadhandle._threadhandle.SamplerStats",
    "The sampler's progress (returned by _Sampler.stats()).",
    stats_fields,
    3,
};

int
th_sampler_init(void)
{
    counts_type = PyStructSequence_NewType(&counts_desc);
    if (counts_type == NULL) {
        return -1;
    }
    stats_type = PyStructSequence_NewType(&stats_desc);
    return stats_type == NULL ? -1 : 0;
}

/* A SamplerStats record. */
static PyObject *
make_stats(unsigned long long sweeps, double busy, Py_ssize_t size)
{
    PyObject *record = PyStructSequence_New(stats_type);
    if (record == NULL) {
        return NULL;
    }
    PyObject *values[3] = {
        PyLong_FromUnsignedLongLong(sweeps),
        PyFloat_FromDouble(busy),
        PyLong_FromSsize_t(size),
    };
    for (int i = 0; i < 3; i++) {
        if (values[i] == NULL) {
            for (int j = 0; j < 3; j++) {
                Py_XDECREF(values[j]);
            }
            Py_DECREF(record);
            return NULL;
        }
    }
    for (int i = 0; i < 3; i++) {
        PyStructSequence_SetItem(record, i, values[i]);
    }
    return record;
}

#if defined(Py_GIL_DISABLED) && !defined(_WIN32)
#  define TH_SAMPLER_AVAILABLE 1
#  include <errno.h>
#  include <pthread.h>
#  include <sched.h>
#  include <time.h>
#else
#  define TH_SAMPLER_AVAILABLE 0
#endif

#if TH_SAMPLER_AVAILABLE

/* The bits of a PyMutex (Include/cpython/lock.h, pylock.h from 3.15):
 * 1 locked (_Py_LOCKED), 2 threads parked waiting for it (_Py_HAS_PARKED,
 * defined in the internal pycore_lock.h); the same in 3.13, 3.14, 3.15. */
#  define TH_MUTEX_HAS_PARKED 2

/* One set of candidates and its counts, owned by the sampler between two
 * swaps. */
typedef struct {
    PyObject *objects; /* tuple; strong */
    Py_ssize_t size;
    uint64_t sweeps;         /* full sweeps counted over this set */
    int baseline;            /* 1: the next sweep only reads */
    Py_ssize_t *last_shared; /* ob_ref_shared at the previous read */
    uint64_t *changes;       /* reads that differed from the previous */
    uint64_t *parked;        /* reads with threads parked on ob_mutex */
    uint64_t *burst_changes; /* changes seen in bursts */
    int64_t *burst_ns;       /* time spent in bursts */
    Py_ssize_t cursor;       /* the next candidate to burst */
} candidate_set;

/* One burst: this long on one object; long enough for some tens of
 * changes of a hammered count, short enough that a burst per sweep stays
 * a small part of the sampler's time. */
#  define TH_BURST_NS 20000
/* Reads between two looks at the clock in a burst. */
#  define TH_BURST_READS 16

struct th_sampler {
    pthread_t thread;
    pthread_mutex_t mutex; /* guards everything below */
    pthread_cond_t wake;   /* a swap, a resume or stop */
    int started;
    int has_thread; /* 0 before start and in a child of
                                   fork(): nothing to join */
    int stopping;
    int paused;            /* set by a swap, cleared by resume */
    double duty;           /* fraction of one core, 0 < duty <= 1 */
    int64_t min_gap_ns;    /* between the starts of two sweeps */
    candidate_set *set;    /* NULL: nothing to sample */
    uint64_t total_sweeps; /* over every set, for progress */
    int64_t busy_ns;
    int requests;            /* threads waiting for the mutex (atomic,
                                   read without it) */
    th_sampler *prev, *next; /* the registry of live samplers */
};

/* Every live sampler, for the fork handlers; registry_mutex guards the
 * list.  Lock order: registry_mutex, then a sampler's mutex. */
static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static th_sampler *registry;
static pthread_once_t fork_handlers_once = PTHREAD_ONCE_INIT;
static int fork_handlers_error;

static int64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One sweep: read every candidate's header once.  Called with the mutex
 * held, by the sampling thread only. */
static void
sweep(candidate_set *set)
{
    PyObject **items = ((PyTupleObject *)set->objects)->ob_item;
    int counting = !set->baseline;
    for (Py_ssize_t i = 0; i < set->size; i++) {
        /* The candidates are scattered in memory: ask for the header of
         * one a few places ahead while this one is read. */
        if (i + 8 < set->size) {
            __builtin_prefetch(items[i + 8]);
        }
        PyObject *op = items[i];
        Py_ssize_t shared = _Py_atomic_load_ssize_relaxed(&op->ob_ref_shared);
        uint8_t lock_bits = _Py_atomic_load_uint8_relaxed(&op->ob_mutex._bits);
        if (counting) {
            set->changes[i] += shared != set->last_shared[i];
            set->parked[i] += (lock_bits & TH_MUTEX_HAS_PARKED) != 0;
        }
        set->last_shared[i] = shared;
    }
    if (counting) {
        set->sweeps++;
    }
    set->baseline = 0;
}

/* Read one candidate's shared count back to back for TH_BURST_NS and add
 * the changes seen, and the time taken, to its burst counts. */
static void
burst(candidate_set *set, Py_ssize_t i)
{
    PyObject *op = ((PyTupleObject *)set->objects)->ob_item[i];
    Py_ssize_t last = _Py_atomic_load_ssize_relaxed(&op->ob_ref_shared);
    uint64_t changes = 0;
    int64_t start = now_ns(), end = start + TH_BURST_NS, now;
    do {
        for (int k = 0; k < TH_BURST_READS; k++) {
            Py_ssize_t shared =
                _Py_atomic_load_ssize_relaxed(&op->ob_ref_shared);
            changes += shared != last;
            last = shared;
        }
        now = now_ns();
    } while (now < end);
    set->burst_changes[i] += changes;
    set->burst_ns[i] += now - start;
}

/* After a counted sweep that took `sweep_ns`: bursts on the next
 * candidates, in turn, whose count changed in some sweep, for about as
 * long as the sweep took, one burst at least (over many candidates, about
 * half of the sampler's time; over a few, one burst a sweep: the pacing
 * counts it in the duty all the same).  In turn: every candidate with traffic
 * gets its share of bursts, the ones with rare changes too (a sweep's
 * share does not tell which traffic is dense).  Called with the mutex
 * held, by the sampling thread only. */
static void
bursts(candidate_set *set, int64_t sweep_ns)
{
    int64_t spent = 0;
    for (Py_ssize_t seen = 0; seen < set->size; seen++) {
        Py_ssize_t i = set->cursor;
        set->cursor = i + 1 < set->size ? i + 1 : 0;
        if (set->changes[i] == 0) {
            continue;
        }
        int64_t before = set->burst_ns[i];
        burst(set, i);
        spent += set->burst_ns[i] - before;
        if (spent >= sweep_ns) {
            break;
        }
    }
}

static void
timespec_after(struct timespec *ts, int64_t ns)
{
    clock_gettime(CLOCK_REALTIME, ts); /* pthread_cond_timedwait's clock */
    int64_t total = ts->tv_nsec + ns;
    ts->tv_sec += (time_t)(total / 1000000000LL);
    ts->tv_nsec = (long)(total % 1000000000LL);
}

static void *
sampler_main(void *arg)
{
    th_sampler *s = (th_sampler *)arg;
    pthread_mutex_lock(&s->mutex);
    while (!s->stopping) {
        if (s->paused || s->set == NULL || s->set->size == 0) {
            pthread_cond_wait(&s->wake, &s->mutex);
            continue;
        }
        int64_t start = now_ns();
        int counting = !s->set->baseline;
        sweep(s->set);
        s->total_sweeps++;
        if (counting) {
            bursts(s->set, now_ns() - start);
        }
        int64_t busy = now_ns() - start;
        s->busy_ns += busy;
        /* Sleep (mutex released) so that busy / period <= duty, and at
         * least the minimum gap; a swap or stop wakes us early. */
        int64_t rest = (int64_t)(busy * (1.0 - s->duty) / s->duty);
        if (rest < s->min_gap_ns - busy) {
            rest = s->min_gap_ns - busy;
        }
        if (rest > 0) {
            struct timespec until;
            timespec_after(&until, rest);
            pthread_cond_timedwait(&s->wake, &s->mutex, &until);
        }
        else if (__atomic_load_n(&s->requests, __ATOMIC_RELAXED) > 0) {
            /* Sweeping flat out (duty 1): a mutex is not fair, so let
             * those waiting for it have it before the next sweep. */
            pthread_mutex_unlock(&s->mutex);
            while (__atomic_load_n(&s->requests, __ATOMIC_RELAXED) > 0) {
                sched_yield();
            }
            pthread_mutex_lock(&s->mutex);
        }
    }
    pthread_mutex_unlock(&s->mutex);
    return NULL;
}

/* Lock the sampler's mutex, counted in `requests` while waiting so that a
 * sampler sweeping flat out lets go of it.  Never called attached while
 * the mutex can be held long: see lock_detached. */
static void
lock_counted(th_sampler *s)
{
    if (pthread_mutex_trylock(&s->mutex) != 0) {
        __atomic_fetch_add(&s->requests, 1, __ATOMIC_RELAXED);
        pthread_mutex_lock(&s->mutex);
        __atomic_fetch_sub(&s->requests, 1, __ATOMIC_RELAXED);
    }
}

/* Lock the sampler's mutex from an attached thread, detached until
 * unlock_attach(): the wait never holds up a stop-the-world pause, and the
 * mutex is never held by a thread waiting to attach (os.fork() stops the
 * world, then fork_prepare waits for every sampler's mutex).  In between,
 * plain C only: no Python API. */
static PyThreadState *
lock_detached(th_sampler *s)
{
    PyThreadState *tstate = PyEval_SaveThread();
    lock_counted(s);
    return tstate;
}

static void
unlock_attach(th_sampler *s, PyThreadState *tstate)
{
    pthread_mutex_unlock(&s->mutex);
    PyEval_RestoreThread(tstate);
}

static void
fork_prepare(void)
{
    pthread_mutex_lock(&registry_mutex);
    for (th_sampler *s = registry; s != NULL; s = s->next) {
        lock_counted(s);
    }
}

static void
fork_parent(void)
{
    for (th_sampler *s = registry; s != NULL; s = s->next) {
        pthread_mutex_unlock(&s->mutex);
    }
    pthread_mutex_unlock(&registry_mutex);
}

/* Only the thread that called fork() lives on in the child: the sampling
 * threads are gone, and so are the threads counted in `requests`. */
static void
fork_child(void)
{
    pthread_mutex_init(&registry_mutex, NULL);
    for (th_sampler *s = registry; s != NULL; s = s->next) {
        pthread_mutex_init(&s->mutex, NULL);
        pthread_cond_init(&s->wake, NULL);
        s->has_thread = 0;
        s->requests = 0;
    }
}

static void
register_fork_handlers(void)
{
    fork_handlers_error =
        pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static void
set_free(candidate_set *set)
{
    if (set == NULL) {
        return;
    }
    Py_XDECREF(set->objects);
    PyMem_Free(set->last_shared);
    PyMem_Free(set->changes);
    PyMem_Free(set->parked);
    PyMem_Free(set->burst_changes);
    PyMem_Free(set->burst_ns);
    PyMem_Free(set);
}

static candidate_set *
set_new(PyObject *objects)
{
    if (!PyTuple_CheckExact(objects)) {
        PyErr_SetString(PyExc_TypeError, "the candidates must be a tuple");
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(objects);
    candidate_set *set = PyMem_Calloc(1, sizeof(candidate_set));
    if (set == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    set->objects = Py_NewRef(objects);
    set->size = n;
    set->baseline = 1;
    set->last_shared = PyMem_Calloc(n ? n : 1, sizeof(Py_ssize_t));
    set->changes = PyMem_Calloc(n ? n : 1, sizeof(uint64_t));
    set->parked = PyMem_Calloc(n ? n : 1, sizeof(uint64_t));
    set->burst_changes = PyMem_Calloc(n ? n : 1, sizeof(uint64_t));
    set->burst_ns = PyMem_Calloc(n ? n : 1, sizeof(int64_t));
    if (!set->last_shared || !set->changes || !set->parked
        || !set->burst_changes || !set->burst_ns)
    {
        set_free(set);
        PyErr_NoMemory();
        return NULL;
    }
    return set;
}

/* A list of n counts; in seconds if `ns` (then `values` is int64_t). */
static PyObject *
counts_list(const void *values, Py_ssize_t n, int ns)
{
    PyObject *list = PyList_New(n);
    if (list == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item =
            ns ? PyFloat_FromDouble((double)((const int64_t *)values)[i] / 1e9)
               : PyLong_FromUnsignedLongLong(((const uint64_t *)values)[i]);
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

/* The SamplerCounts of a set the sampler no longer uses (lists in the
 * set's order); None for no set. */
static PyObject *
set_counts(candidate_set *set)
{
    if (set == NULL) {
        Py_RETURN_NONE;
    }
    Py_ssize_t n = set->size;
    PyObject *values[5] = {
        PyLong_FromUnsignedLongLong(set->sweeps),
        counts_list(set->changes, n, 0),
        counts_list(set->parked, n, 0),
        counts_list(set->burst_changes, n, 0),
        counts_list(set->burst_ns, n, 1),
    };
    PyObject *record = PyStructSequence_New(counts_type);
    for (int i = 0; i < 5; i++) {
        if (values[i] == NULL || record == NULL) {
            for (int j = 0; j < 5; j++) {
                Py_XDECREF(values[j]);
            }
            Py_XDECREF(record);
            return NULL;
        }
    }
    for (int i = 0; i < 5; i++) {
        PyStructSequence_SetItem(record, i, values[i]);
    }
    return record;
}

th_sampler *
th_sampler_new(double duty, double max_rate)
{
    if (!(duty > 0.0 && duty <= 1.0)) {
        PyErr_SetString(PyExc_ValueError,
                        "duty must be > 0 and <= 1 (a fraction of one core)");
        return NULL;
    }
    if (!(max_rate > 0.0 && max_rate <= 1e6)) {
        PyErr_SetString(PyExc_ValueError,
                        "max_rate must be > 0 and <= 1e6 sweeps per second");
        return NULL;
    }
    pthread_once(&fork_handlers_once, register_fork_handlers);
    if (fork_handlers_error != 0) {
        errno = fork_handlers_error;
        PyErr_SetFromErrno(PyExc_OSError);
        return NULL;
    }
    th_sampler *s = PyMem_Calloc(1, sizeof(th_sampler));
    if (s == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    s->duty = duty;
    s->min_gap_ns = (int64_t)(1e9 / max_rate);
    s->paused = 1;
    pthread_mutex_init(&s->mutex, NULL);
    pthread_cond_init(&s->wake, NULL);
    Py_BEGIN_ALLOW_THREADS pthread_mutex_lock(&registry_mutex);
    s->next = registry;
    if (registry != NULL) {
        registry->prev = s;
    }
    registry = s;
    pthread_mutex_unlock(&registry_mutex);
    Py_END_ALLOW_THREADS return s;
}

int
th_sampler_start(th_sampler *s)
{
    PyThreadState *tstate = lock_detached(s);
    int err =
        s->started ? -1 : pthread_create(&s->thread, NULL, sampler_main, s);
    s->started |= err == 0;
    s->has_thread = err == 0;
    unlock_attach(s, tstate);
    if (err == -1) {
        PyErr_SetString(PyExc_RuntimeError,
                        "a sampler can be started only once");
        return -1;
    }
    if (err != 0) {
        errno = err;
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    return 0;
}

PyObject *
th_sampler_swap(th_sampler *s, PyObject *objects)
{
    candidate_set *new_set = NULL;
    if (objects != Py_None) {
        new_set = set_new(objects);
        if (new_set == NULL) {
            return NULL;
        }
    }
    PyThreadState *tstate = lock_detached(s);
    candidate_set *old = s->set;
    s->set = new_set;
    s->paused = 1;
    pthread_cond_signal(&s->wake);
    unlock_attach(s, tstate);
    /* The sampling thread no longer sees `old`. */
    PyObject *counts = set_counts(old);
    set_free(old);
    return counts;
}

void
th_sampler_resume(th_sampler *s)
{
    PyThreadState *tstate = lock_detached(s);
    if (s->set != NULL) {
        s->set->baseline = 1;
    }
    s->paused = 0;
    pthread_cond_signal(&s->wake);
    unlock_attach(s, tstate);
}

PyObject *
th_sampler_stats(th_sampler *s)
{
    PyThreadState *tstate = lock_detached(s);
    unsigned long long sweeps = s->total_sweeps;
    double busy = (double)s->busy_ns / 1e9;
    Py_ssize_t size = s->set ? s->set->size : 0;
    unlock_attach(s, tstate);
    return make_stats(sweeps, busy, size);
}

void
th_sampler_stop(th_sampler *s)
{
    /* Only the first call joins the thread; none in a child of fork(),
     * where the thread does not exist. */
    Py_BEGIN_ALLOW_THREADS lock_counted(s);
    int join = s->has_thread && !s->stopping;
    s->stopping = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mutex);
    if (join) {
        pthread_join(s->thread, NULL);
    }
    Py_END_ALLOW_THREADS
}

void
th_sampler_free(th_sampler *s)
{
    if (s == NULL) {
        return;
    }
    th_sampler_stop(s);
    Py_BEGIN_ALLOW_THREADS pthread_mutex_lock(&registry_mutex);
    if (s->prev != NULL) {
        s->prev->next = s->next;
    }
    else {
        registry = s->next;
    }
    if (s->next != NULL) {
        s->next->prev = s->prev;
    }
    pthread_mutex_unlock(&registry_mutex);
    Py_END_ALLOW_THREADS set_free(s->set);
    pthread_mutex_destroy(&s->mutex);
    pthread_cond_destroy(&s->wake);
    PyMem_Free(s);
}

#else /* !TH_SAMPLER_AVAILABLE */

th_sampler *
th_sampler_new(double duty, double max_rate)
{
    (void)duty;
    (void)max_rate;
    PyErr_SetString(PyExc_RuntimeError,
                    "the contention sampler needs a free-threaded build "
                    "(3.13t or later): with a GIL there is no reference-count "
                    "contention to find");
    return NULL;
}

int
th_sampler_start(th_sampler *s)
{
    (void)s;
    return 0;
}

PyObject *
th_sampler_swap(th_sampler *s, PyObject *objects)
{
    (void)s;
    (void)objects;
    Py_RETURN_NONE;
}

void
th_sampler_resume(th_sampler *s)
{
    (void)s;
}

PyObject *
th_sampler_stats(th_sampler *s)
{
    (void)s;
    return make_stats(0, 0.0, 0);
}

void
th_sampler_stop(th_sampler *s)
{
    (void)s;
}

void
th_sampler_free(th_sampler *s)
{
    (void)s;
}

#endif /* TH_SAMPLER_AVAILABLE */

int
th_sampler_available(void)
{
    return TH_SAMPLER_AVAILABLE;
}
