#!/usr/bin/env bash
# Build threadhandle with sanitizers and run the tests under them.
#
# Usage: scripts/sanitize.sh asan|tsan      (make asan / make tsan)
#
#   asan  AddressSanitizer + UndefinedBehaviorSanitizer (gcc): the extension
#         is built with -fsanitize=address,undefined and the whole test suite
#         runs on $PYTHON (default python3, a GIL build) and on the
#         free-threaded $FT_VERSION (default 3.14) from
#         scripts/freethreaded-python (but for one stress test, see
#         run_asan), with gcc's ASan runtime preloaded.
#         LeakSanitizer is on for the GIL build (PYTHONMALLOC=malloc;
#         scripts/lsan.supp would list CPython's own interpreter-lifetime
#         allocations, none needed so far); UBSan errors are fatal.
#   tsan  ThreadSanitizer (clang): a free-threaded CPython built with
#         --with-thread-sanitizer (scripts/freethreaded-python --tsan, built
#         once and cached), the extension built with -fsanitize=thread, then
#         the threaded tests and the stress suite.  Any report not covered
#         by scripts/tsan.supp (races inside CPython only) fails the run.
#
# Environment: PYTHON, FT_VERSION, PYTEST_ARGS (extra pytest arguments),
# THREADHANDLE_STRESS_SECONDS (stress duration; default 30 for asan, 20
# under tsan).  Venvs: .venv-asan-<python>, .venv-tsan<FT_VERSION>
# (git-ignored).
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
mode=${1:-}
PYTHON=${PYTHON:-python3}
FT_VERSION=${FT_VERSION:-3.14}
PYTEST_ARGS=${PYTEST_ARGS:-}

say() { printf '\n==> sanitize %s: %s\n' "$mode" "$*"; }
die() { printf 'sanitize %s: error: %s\n' "$mode" "$*" >&2; exit 1; }
# Print a command, then run it.
run() { printf '+ %s\n' "$*"; "$@"; }

# apt-get install the Debian packages that are missing (as root or via sudo).
ensure_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]}; install them"
    local sudo_=(); [ "$(id -u)" = 0 ] || sudo_=(sudo)
    say "installing ${missing[*]}"
    "${sudo_[@]}" apt-get update -qq
    "${sudo_[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# make_venv DIR PYTHON [LEAVE_OUT]: a venv with the build requirements and
# the test extra's requirements (read from pyproject.toml), made once; the
# requirements whose name is LEAVE_OUT (a grep -E pattern) are left out.
make_venv() {
    local venv=$1 python=$2 leave_out=${3:-}
    if [ ! -f "$venv/.sanitize-ready" ]; then
        say "creating $venv from $python"
        rm -rf "$venv"
        run "$python" -m venv "$venv"
        run "$venv/bin/python" -m pip install -q --upgrade pip 'setuptools>=77' 'Cython>=3.1'
        local requirements="$venv/test-requirements.txt"
        "$venv/bin/python" -c 'import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(project.get("optional-dependencies", {}).get("test", [])))' >"$requirements"
        if [ -n "$leave_out" ]; then
            grep -Ev "^($leave_out)\b" "$requirements" >"$requirements.kept" || true
            mv "$requirements.kept" "$requirements"
        fi
        echo "test requirements: $(paste -sd ';' "$requirements")"
        run "$venv/bin/python" -m pip install -q -r "$requirements"
        touch "$venv/.sanitize-ready"
    fi
}

# build_into VENV CC CFLAGS LDFLAGS SANITIZER_SYMBOL: build and install the
# extension from a fresh copy of the sources (so that no object file of an
# earlier, uninstrumented build is reused), then check that it is
# instrumented.
build_into() {
    local venv=$1 cc=$2 cflags=$3 ldflags=$4 symbol=$5
    local src
    src=$(mktemp -d "${TMPDIR:-/tmp}/threadhandle-sanitize.XXXXXX")
    # The working tree as it is (with uncommitted changes), minus build
    # products and venvs.
    tar -c --exclude='./.venv*' --exclude=./build --exclude=./dist --exclude='*.egg-info' \
        --exclude='*.so' --exclude=threadhandle/_threadhandle.c --exclude=./.git . \
        | tar -x -C "$src"
    say "building the extension with $cflags"
    printf '+ CC=%s CFLAGS=%q LDFLAGS=%q %s -m pip install --no-build-isolation --force-reinstall --no-deps <copy of the sources>\n' \
        "$cc" "$cflags" "$ldflags" "$venv/bin/python"
    CC=$cc CFLAGS=$cflags LDFLAGS=$ldflags \
        "$venv/bin/python" -m pip install -q --no-build-isolation --force-reinstall --no-deps "$src" \
        2> >(grep -v -e 'BuildBackendWarning' -e '^ *warnings.warn' -e "^ *return '" -e '^ *for path in' >&2)
    rm -rf "$src"
    local so
    so=$(ls "$venv"/lib/python*/site-packages/threadhandle/_threadhandle*.so)
    grep -q "$symbol" <(nm -D "$so") || die "$so is not instrumented ($symbol missing)"
    echo "instrumented: $so"
}

# The pytest command line for a venv: the tests of this checkout, with the
# package imported from the venv (-P), no cache files in the repository.
pytest_cmd() {
    echo "$1/bin/python -P -m pytest -p no:cacheprovider -q $PYTEST_ARGS"
}

# Sanitizer reports go to files (log_path=$reports/<tool>.<pid>), not to
# stderr: pytest captures the stderr of passing tests, and subprocesses'
# reports would be lost.  show_reports prints them, with a count of those
# that involve threadhandle's own code, and fails if there are any.
show_reports() {
    local dir=$1 what=$2
    shopt -s nullglob
    local files=("$dir"/*)
    shopt -u nullglob
    # The runtime is preloaded, so programs that tests start (a shell's
    # `tr`, say) write reports too: only those with a frame in Python (its
    # binary, or a file of CPython's source) or in threadhandle count.
    local kept=() file
    for file in "${files[@]}"; do
        if grep -qiE 'python|threadhandle|(Modules|Objects|Python)/[a-z_]+\.c' "$file"; then
            kept+=("$file")
        else
            echo "$what: ignored $(basename "$file"), not from a Python process:"
            grep -m3 -E '^ +#[0-9]' "$file" | sed 's/^/    /'
        fi
    done
    files=("${kept[@]+"${kept[@]}"}")
    if [ ${#files[@]} -eq 0 ]; then
        echo "$what: no reports"
        return 0
    fi
    cat "${files[@]}"
    local ours
    ours=$(cat "${files[@]}" | grep -cE '_threadhandle|threadhandle/(forward|attributes|install)\.c|_threadhandle\.pyx' || true)
    say "$what: ${#files[@]} report file(s) above; lines naming threadhandle's code: $ours"
    return 1
}

run_asan() {
    command -v gcc >/dev/null 2>&1 || ensure_packages gcc
    local libasan
    libasan=$(gcc -print-file-name=libasan.so)
    [ -f "$libasan" ] || { ensure_packages libasan8 libubsan1; libasan=$(gcc -print-file-name=libasan.so); }
    [ -f "$libasan" ] || die "gcc has no libasan.so"
    command -v nm >/dev/null 2>&1 || ensure_packages binutils

    # Tests that compile C (test_cython_cimport) would run the compiler
    # with the ASan runtime preloaded too, and LeakSanitizer would report
    # gcc, cc1, as and ld, which free nothing on exit by design.  So the
    # tests see compilers that drop LD_PRELOAD first.
    local toolchain
    toolchain=$(mktemp -d "${TMPDIR:-/tmp}/threadhandle-toolchain.XXXXXX")
    for tool in cc gcc c++ g++ x86_64-linux-gnu-gcc; do
        local real
        real=$(command -v "$tool" 2>/dev/null) || continue
        printf '#!/bin/sh\nunset LD_PRELOAD\nexec %q "$@"\n' "$real" >"$toolchain/$tool"
        chmod +x "$toolchain/$tool"
    done

    local cflags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
    local ldflags="-fsanitize=address,undefined"
    local ft_python
    ft_python=$(scripts/freethreaded-python --version "$FT_VERSION")
    local status=0
    for python in "$PYTHON" "$ft_python"; do
        local tag
        tag=$("$python" -c 'import sys, sysconfig; print(f"{sys.version_info[0]}.{sys.version_info[1]}" + ("t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""))')
        local venv=".venv-asan-$tag"
        say "Python $tag ($python)"
        # numpy's import alone leaks by LeakSanitizer's measure (3,120
        # bytes in 53 allocations on 3.11, none of them threadhandle's): the
        # GIL build, where leaks are checked, runs without it (its numpy
        # tests and benchmark rows are skipped there, and run everywhere
        # else).
        local leave_out=""
        [[ "$tag" == *t ]] || leave_out="numpy"
        make_venv "$venv" "$python" "$leave_out"
        build_into "$venv" gcc "$cflags" "$ldflags" __asan_init
        # Free-threaded CPython allocates with mimalloc only (it refuses
        # PYTHONMALLOC=malloc): ASan checks the extension's accesses to
        # the stack and globals but cannot see object memory, for which
        # mimalloc_debug adds CPython's guard bytes and dead-byte fill.
        # LeakSanitizer neither tracks nor scans mimalloc's memory, so
        # there it would miss the extension's leaks and report every
        # malloc block only a Python object points to (OpenSSL's, for
        # _hashlib): leaks are checked on the GIL build, and by
        # tests/test_lifetimes.py (tracemalloc) on both.
        #
        # One test cannot run there: with libasan preloaded, the
        # interpreter's memmove is ASan's, which copies byte by byte, and
        # free-threaded CPython reads list items without the lock while
        # list.remove/insert/pop move them with memmove; readers then see
        # torn pointers and crash.  A plain list does the same (twelve
        # threads doing `x in l` and l.remove()): it is not threadhandle's.
        # That test still runs under TSan, on 3.14t without sanitizers, and
        # here on the GIL build.
        local pymalloc=malloc detect_leaks=1 deselect=()
        if [[ "$tag" == *t ]]; then
            pymalloc=mimalloc_debug detect_leaks=0
            deselect=(--deselect tests/test_stress.py::test_shared_containers_through_handles)
        fi
        say "tests on Python $tag under ASan+UBSan (PYTHONMALLOC=$pymalloc, leak checks: $detect_leaks)"
        local reports
        reports=$(mktemp -d "${TMPDIR:-/tmp}/threadhandle-asan-reports.XXXXXX")
        local env_=(
            PATH="$toolchain:$PATH"
            LD_PRELOAD="$libasan"
            PYTHONMALLOC="$pymalloc"
            ASAN_OPTIONS="detect_leaks=$detect_leaks:allocator_may_return_null=1:halt_on_error=1:detect_stack_use_after_return=0:log_path=$reports/asan"
            LSAN_OPTIONS="suppressions=$repo/scripts/lsan.supp:print_suppressions=0"
            UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan"
            THREADHANDLE_STRESS_SECONDS="${THREADHANDLE_STRESS_SECONDS:-30}"
        )
        printf '+ %s %s %s\n' "${env_[*]}" "$(pytest_cmd "$venv")" "${deselect[*]}"
        local failed=0
        # shellcheck disable=SC2046 # the pytest command line is split on purpose
        env "${env_[@]}" $(pytest_cmd "$venv") "${deselect[@]}" || failed=1
        show_reports "$reports" "ASan/UBSan/LSan on Python $tag" || failed=1
        rm -rf "$reports"
        if [ $failed = 1 ]; then
            status=1
            say "FAILED on Python $tag"
        fi
    done
    rm -rf "$toolchain"
    return $status
}

run_tsan() {
    command -v nm >/dev/null 2>&1 || ensure_packages binutils
    say "the ThreadSanitizer build of CPython $FT_VERSION (built once, then cached)"
    local tsan_python
    tsan_python=$(scripts/freethreaded-python --version "$FT_VERSION" --tsan)
    echo "$tsan_python"
    command -v clang >/dev/null 2>&1 || ensure_packages clang
    # One per version: a venv is made once, and one of another version's
    # interpreter would be used as it is.
    local venv=".venv-tsan$FT_VERSION"
    make_venv "$venv" "$tsan_python"
    build_into "$venv" clang "-fsanitize=thread -fno-omit-frame-pointer -g -O1" \
        "-fsanitize=thread" __tsan_init
    # The tests that run threads, and the stress suite.
    local tests
    tests=$(grep -lE 'import threading|run_threads|ThreadPoolExecutor' tests/test_*.py | sort | tr '\n' ' ')
    say "threaded tests under TSan: $tests"
    local reports
    reports=$(mktemp -d "${TMPDIR:-/tmp}/threadhandle-tsan-reports.XXXXXX")
    local env_=(
        TSAN_OPTIONS="suppressions=$repo/scripts/tsan.supp:halt_on_error=0:exitcode=66:second_deadlock_stack=1:log_path=$reports/tsan"
        THREADHANDLE_STRESS_SECONDS="${THREADHANDLE_STRESS_SECONDS:-20}"
    )
    printf '+ %s %s %s\n' "${env_[*]}" "$(pytest_cmd "$venv")" "$tests"
    local status=0
    # shellcheck disable=SC2046,SC2086
    env "${env_[@]}" $(pytest_cmd "$venv") $tests || status=$?
    show_reports "$reports" "ThreadSanitizer" || status=1
    rm -rf "$reports"
    [ $status = 0 ] || say "FAILED (exit status $status; 66: ThreadSanitizer reported races)"
    return $status
}

start=$SECONDS
case "$mode" in
    asan) run_asan ;;
    tsan) run_tsan ;;
    *) echo "usage: scripts/sanitize.sh asan|tsan" >&2; exit 2 ;;
esac
say "passed in $((SECONDS - start)) s"
