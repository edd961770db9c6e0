# threadhandle — the two commands:
#   make bench   the scaling benchmark's headline rows and their verdicts, on
#                a free-threaded CPython (the main job; make bench-full: the
#                full table)
#   make test    everything CI checks (.ci/run calls exactly this); make
#                check, its fast part: lint and the default interpreter's tests
# and one for the docs:
#   make reference   docs/reference.md, written from the docstrings
#
# Interpreters: the default one is $(PYTHON) (a GIL build); the free-threaded
# one comes from scripts/freethreaded-python, which finds or builds it.

PYTHON ?= python3
FT_VERSION ?= 3.14
FT_PYTHON = $(shell scripts/freethreaded-python --version $(FT_VERSION))
VENV_DEFAULT := .venv-default
VENV_FT := .venv-ft$(FT_VERSION)
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: test check lint test-default test-default-public test-ft test-ft-public test-ft315 test-parallel test-all bench bench-full bench-default bench-313t reference clean

test: check test-default-public test-ft test-ft-public test-ft315 test-parallel asan tsan

# The fast part of make test, to run before every commit: the linters
# (scripts/lint: ruff, and clang-format on the C files; it installs them
# into .venv-lint) and the whole suite on the default interpreter.
check: lint test-default

lint:
	PYTHON='$(PYTHON)' scripts/lint

# A venv with the build requirements and the requirements of extra $(3),
# then the package itself, rebuilt from source every time (the C sources may
# have changed), once (scripts/install-extra installs an extra without the
# package); $(4), if given, is put before the build command (environment
# settings).
define install_into
	@[ -x $(1)/bin/python ] || $(2) -m venv $(1)
	$(1)/bin/python -m pip install -q --upgrade pip 'setuptools>=77' 'Cython>=3.1'
	$(1)/bin/python scripts/install-extra $(3)
	$(4) $(1)/bin/python -m pip install -q --no-build-isolation --force-reinstall --no-deps .
endef

# -P: import threadhandle from the venv, never from the source folder.
test-default:
	$(call install_into,$(VENV_DEFAULT),$(PYTHON),test)
	$(VENV_DEFAULT)/bin/python -P -m pytest $(PYTEST_ARGS)

# The whole suite on the default interpreter built without the CPython
# internals of threadhandle/internals.h (on 3.11: the thread-end hook of
# local.c), so that the public-API path stays tested where they are on.
test-default-public:
	$(call install_into,$(VENV_DEFAULT)-public,$(PYTHON),test,THREADHANDLE_NO_INTERNALS=1)
	$(VENV_DEFAULT)-public/bin/python -P -c 'import sys, threadhandle._threadhandle as m; sys.exit(m._INLINE_VALUES or m._THREAD_END_HOOK or m._SET_IMMORTAL)'
	$(VENV_DEFAULT)-public/bin/python -P -m pytest $(PYTEST_ARGS)

test-ft:
	$(call install_into,$(VENV_FT),$(FT_PYTHON),test)
	$(VENV_FT)/bin/python -P -m pytest $(PYTEST_ARGS)

# The whole suite on a free-threaded build made without the CPython
# internals of threadhandle/internals.h: the public-API paths every other
# version uses, kept tested where the fast paths are on by default.
test-ft-public:
	$(call install_into,$(VENV_FT)-public,$(FT_PYTHON),test,THREADHANDLE_NO_INTERNALS=1)
	$(VENV_FT)-public/bin/python -P -c 'import sys, threadhandle._threadhandle as m; sys.exit(m._INLINE_VALUES or m._THREAD_END_HOOK or m._SET_IMMORTAL)'
	$(VENV_FT)-public/bin/python -P -m pytest $(PYTEST_ARGS)

# The whole suite on free-threaded 3.15 as well (its own venv,
# .venv-ft3.15), the interpreter users move to; the public-API, parallel
# and sanitizer legs stay on $(FT_VERSION) (CI's time limit).  Nothing to
# add when $(FT_VERSION) is 3.15: test-ft ran there.
test-ft315:
	$(if $(filter 3.15,$(FT_VERSION)),@echo "test-ft ran on 3.15 already",$(MAKE) test-ft FT_VERSION=3.15)

# The functional suite with every test run by 4 threads at once
# (pytest-run-parallel), on the free-threaded interpreter.  Tests that cannot
# run that way are marked thread_unsafe, with the reason.
test-parallel: test-ft
	$(VENV_FT)/bin/python -m pip install -q pytest-run-parallel
	$(VENV_FT)/bin/python -P -m pytest --parallel-threads=4 -q -p no:cacheprovider \
		--ignore=tests/test_stress.py $(PYTEST_ARGS)

# The other interpreters this machine has (pyenv's GIL builds, 3.13t).
test-all: test
	$(MAKE) test-default PYTHON=$$(pyenv root)/versions/3.12.1/bin/python3 VENV_DEFAULT=.venv-3.12
	$(MAKE) test-default PYTHON=$$(pyenv root)/versions/3.13.0/bin/python3 VENV_DEFAULT=.venv-3.13
	$(MAKE) test-ft FT_VERSION=3.13

# The scaling benchmark: the headline rows (benchmarks/scaling/headline.py),
# or with --full every workload against every proxy.  The newest
# matplotlib/cereggii have no 3.13t wheels and their sources do not build
# offline, hence prefer-binary.
bench bench-default: export PIP_PREFER_BINARY := 1
bench:
	$(call install_into,$(VENV_FT),$(FT_PYTHON),bench)
	$(VENV_FT)/bin/python -P benchmarks/scaling $(BENCH_ARGS)
	@echo "Table above; JSON and plot in benchmarks/results/"

bench-full:
	$(MAKE) bench BENCH_ARGS="--full $(BENCH_ARGS)"

# On the default (GIL) interpreter: the single-thread overhead only.
bench-default:
	$(call install_into,$(VENV_DEFAULT),$(PYTHON),bench)
	$(VENV_DEFAULT)/bin/python -P benchmarks/scaling $(BENCH_ARGS)

bench-313t:
	$(MAKE) bench FT_VERSION=3.13

# docs/reference.md from the docstrings of every public name (tests/test_docs.py
# fails when it differs): run after changing a docstring or an __all__.
reference:
	$(call install_into,$(VENV_DEFAULT),$(PYTHON),test)
	$(VENV_DEFAULT)/bin/python -P scripts/make-reference

clean:
	rm -rf build dist *.egg-info .venv-* threadhandle/*.so threadhandle/_threadhandle.c

# --- sanitizers (reliability) ---
# make asan   the extension built with -fsanitize=address,undefined (gcc); the
#             whole suite on $(PYTHON) and on the free-threaded $(FT_VERSION)
#             with the ASan runtime preloaded; leaks checked on the GIL build.
# make tsan   a ThreadSanitizer build of free-threaded CPython $(FT_VERSION)
#             (built once into ~/.cache/threadhandle) and of the extension
#             (clang); the threaded tests and the stress suite.
# Both are scripts/sanitize.sh, which installs gcc/clang with apt-get if
# missing and prints each command it runs.  Suppressions (CPython's own
# reports only): scripts/lsan.supp, scripts/tsan.supp.
.PHONY: asan tsan

asan:
	PYTHON='$(PYTHON)' FT_VERSION='$(FT_VERSION)' PYTEST_ARGS='$(PYTEST_ARGS)' scripts/sanitize.sh asan

tsan:
	FT_VERSION='$(FT_VERSION)' PYTEST_ARGS='$(PYTEST_ARGS)' scripts/sanitize.sh tsan
