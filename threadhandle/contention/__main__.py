"""python -m threadhandle.contention [options] script.py [args]
python -m threadhandle.contention [options] -m module [args]

Runs the program as __main__ as python would run it, samples it after a
warmup for a duration or until its main code returns, and prints the report
of the objects its threads contend on to stderr when the program's main
code ends (also on Ctrl-C).  Everything after the script (or -m module) is
the program's.  The program runs as under python: its stdout is its own,
its exit status, tracebacks, sys.path[0], __main__ and signals are as
Python makes them; the finder's threads are not in threading.enumerate();
a child it forks prints no report.  The finder's messages on stderr start
with "threadhandle.contention", and its report runs from its
"threadhandle.contention on" line to its "threadhandle.contention: end of
the report" line.  With the GIL on, the program runs without sampling."""

from __future__ import annotations

import argparse
import builtins
import importlib.machinery
import os
import runpy
import sys
import threading
import types

# Imported now, not while the program runs: the program's folder, first on
# sys.path from then on, could hold modules of the same names.
import json  # noqa: F401  (Report.to_json)
import traceback  # noqa: F401

from threadhandle.contention import (
    Finder, Report, _gil_enabled, _start_thread, gil_message)
from threadhandle.contention._options import OPTIONS

PROG = "python -m threadhandle.contention"
TAG = "threadhandle.contention"
# The finder's options that take a value (the others are flags).
VALUE_OPTIONS = {"--warmup", "--duration", "-o", "--output",
                 "--compare"} | {f"--{option.name}" for option in OPTIONS}
# The entry python -m put first on sys.path for the finder (the current
# folder), which python script.py would not have put there; None with -P.
FINDER_PATH0 = None if sys.flags.safe_path else sys.path[0]
# Whether python's __main__ has an __annotations__ dict before the program
# runs (3.11-3.13 make one at startup; this file annotates no variable).
MAIN_ANNOTATIONS = "__annotations__" in globals()


class UsageError(Exception):
    """Bad input: reported in one line, exit status 2."""


def positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"not a number: {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
        return value
    return parse


def within(option):
    """The parser of one of the finder's options (_options)."""
    def parse(text: str):
        try:
            value = option.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"not a number: {text!r}") from None
        if not option.fits(value):
            raise argparse.ArgumentTypeError(
                f"must be {option.limits()}: {text!r}")
        return value
    return parse


def before_report(path: str):
    try:
        return Report.load(path)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise argparse.ArgumentTypeError(
            f"cannot read the report {path!r}: {exc}") from None


def split_argv(argv: list) -> tuple:
    """(the finder's options, the module or None, the program's arguments):
    the first -m or the first argument that is not an option ends the
    finder's options (as for python itself)."""
    index = 0
    while index < len(argv):
        word = argv[index]
        if word == "--":
            return argv[:index], None, argv[index + 1:]
        if word == "-m":
            if index + 1 == len(argv):
                raise UsageError("-m needs a module name")
            return argv[:index], argv[index + 1], argv[index + 2:]
        if word.startswith("-m") and not word.startswith("--"):
            return argv[:index], word[2:], argv[index + 1:]
        if not word.startswith("-") or word == "-":
            return argv[:index], None, argv[index:]
        index += 2 if word in VALUE_OPTIONS else 1
    return argv, None, []


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__.split("\n\n", 1)[1],
        # No abbreviations: split_argv must know every option's full name
        # to tell the finder's options from the program's.
        allow_abbrev=False,
        usage=f"{PROG} [options] (script.py | -m module) [args]")
    parser.add_argument("--warmup", type=float, default=1.0, metavar="S",
                        help="seconds before sampling starts (default 1)")
    parser.add_argument("--duration", type=positive(float), metavar="S",
                        help="seconds of sampling (default: until the "
                             "program ends)")
    for option in OPTIONS:
        default = (f"{option.default:,}" if option.kind is int
                   else f"{option.default:g}")
        parser.add_argument(f"--{option.name}", type=within(option),
                            default=option.default, metavar=option.metavar,
                            help=f"{option.help} ({option.limits(False)}; "
                                 f"default {default})")
    parser.add_argument("-o", "--output", metavar="PATH",
                        help="also write the report as JSON to PATH")
    parser.add_argument("--compare", type=before_report, metavar="PATH",
                        help="a report written by -o before a remedy was "
                        "applied: also print what changed for each entry")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress on stderr")
    return parser


def parse_args(argv: list) -> argparse.Namespace:
    parser = make_parser()
    try:
        options, module, program_args = split_argv(argv)
    except UsageError as exc:
        parser.error(str(exc))
    args = parser.parse_args(options)
    args.module, args.args = module, program_args
    if args.warmup < 0:
        parser.error("--warmup must be >= 0")
    if args.module is None and not args.args:
        parser.error("name a script (or -m module) to run")
    return args


class Program:
    """The program as python would run it: its code, its __main__ module,
    its sys.argv and sys.path[0]."""

    def __init__(self, code, module, argv, path0) -> None:
        self.code, self.module, self.argv = code, module, argv
        self.path0 = path0
        self.spec = None

    def install(self) -> None:
        sys.argv = self.argv
        if self.path0 is not None:
            # python -m put the current folder first for the finder;
            # python script.py puts the script's folder there instead.
            if FINDER_PATH0 is not None and sys.path[:1] == [FINDER_PATH0]:
                sys.path[0] = self.path0
            else:
                sys.path.insert(0, self.path0)
        sys.modules["__main__"] = self.module

    def run(self) -> None:
        if self.spec is not None:
            # What python -m does (runpy._run_module_as_main), in a fresh
            # __main__ module.
            runpy._run_code(self.code, self.module.__dict__, None,
                            "__main__", self.spec)
        else:
            exec(self.code, self.module.__dict__)


def main_module() -> types.ModuleType:
    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = builtins
    if MAIN_ANNOTATIONS:
        module.__dict__["__annotations__"] = {}
    return module


def load_module(name: str, program_args: list) -> Program:
    """What python -m name does before running it."""
    sys.argv = ["-m"] + program_args   # what the module's package sees
    try:
        name, spec, code = runpy._get_module_details(name)
    except ImportError as exc:
        raise UsageError(f"no module {name!r}: {exc}") from None
    except Exception as exc:  # the module's package raised on import
        raise UsageError(f"cannot run module {name!r}: "
                         f"{type(exc).__name__}: {exc}") from None
    program = Program(code, main_module(), [spec.origin] + program_args,
                      None)
    program.spec = spec
    return program


def load_script(script: str, program_args: list) -> Program:
    """What python script.py does before running it: __file__ absolute,
    sys.path[0] the folder of the script (symbolic links resolved); a
    folder or zip file with a __main__.py runs that module."""
    if os.path.isdir(script) or (os.path.isfile(script)
                                 and _is_zip(script)):
        sys.path.insert(0, script)
        try:
            name, spec, code = runpy._get_main_module_details()
        except ImportError as exc:
            del sys.path[0]
            raise UsageError(f"cannot run {script!r}: {exc}") from None
        del sys.path[0]
        program = Program(code, main_module(), [script] + program_args,
                          os.path.abspath(script))
        program.spec = spec
        return program
    path = os.path.abspath(script)
    try:
        with open(path, "rb") as file:
            source = file.read()
    except OSError as exc:
        raise UsageError(f"cannot open script {script!r}: "
                         f"{exc.strerror}") from None
    module = main_module()
    module.__dict__.update(
        __file__=path,
        __loader__=importlib.machinery.SourceFileLoader("__main__", path))
    if sys.version_info < (3, 15):   # 3.15 has no __cached__ any more
        module.__dict__["__cached__"] = None
    # dont_inherit: not this file's compiler flags.  A SyntaxError is the
    # program's, raised as python raises it.
    code = compile(source, path, "exec", dont_inherit=True)
    path0 = None if sys.flags.safe_path else os.path.dirname(
        os.path.realpath(path))
    return Program(code, module, [script] + program_args, path0)


def _is_zip(path: str) -> bool:
    import zipfile
    return zipfile.is_zipfile(path)


def load_program(args: argparse.Namespace) -> Program:
    if args.module is not None:
        return load_module(args.module, args.args)
    script, *script_args = args.args
    return load_script(script, script_args)


def finder_print(text: str) -> None:
    """The finder's own lines: to the process's stderr (as it was at start,
    whatever the program did with sys.stderr), never to stdout."""
    for stream in (sys.__stderr__, sys.stderr):
        if stream is None or getattr(stream, "closed", True):
            continue
        try:
            stream.write(text + "\n")
            stream.flush()
        except (OSError, ValueError):
            continue
        return


class Session:
    """The finder's life around the program: started after the warmup,
    stopped after the duration or when the program's main code ends.
    Its timer is a thread of the _thread module: threading never sees it."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.finder = None
        self.report = None
        self.failed = None
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.ended = threading.Event()

    def _progress(self, elapsed: float, rate: float, size: int) -> None:
        finder_print(f"{TAG}: {elapsed:5.1f} s, {rate:,.0f} sweeps/s, "
                     f"{size:,} candidates")

    def _time(self) -> None:
        # A thread of _thread's: an uncaught exception would go to the
        # program's sys.unraisablehook.
        try:
            self._start_and_time()
        except BaseException as exc:  # noqa: BLE001 - the finder's own
            self.failed = f"{type(exc).__name__}: {exc}"

    def _start_and_time(self) -> None:
        if self.ended.wait(self.args.warmup):
            return
        with self.lock:
            if self.ended.is_set():
                return
            finder = Finder(
                **{option.name: getattr(self.args, option.name)
                   for option in OPTIONS},
                progress=None if self.args.quiet else self._progress)
            try:
                finder.start()
            except Exception as exc:
                self.failed = f"{type(exc).__name__}: {exc}"
                return
            self.finder = finder
        if self.args.duration is not None and not self.ended.wait(
                self.args.duration):
            self.stop()

    def start(self) -> None:
        _start_thread(self._time)

    def stop(self) -> None:
        with self.lock:
            if self.finder is not None and self.report is None:
                self.report = self.finder.stop()

    def end(self) -> None:
        self.ended.set()
        self.stop()


def program_frames(tb, code):
    """The traceback from the program's first frame on (None when the
    program's code never ran: a SyntaxError)."""
    while tb is not None and tb.tb_frame.f_code is not code:
        tb = tb.tb_next
    return tb


def print_as_python(error: BaseException, code) -> None:
    """Print the program's uncaught exception as python would, through
    sys.excepthook, with the program's frames only."""
    # By type, as Python matches it (isinstance could read a __class__
    # property of the program's).
    if issubclass(type(error), SystemExit):
        return   # Python prints its code, if any, as it exits
    tb = program_frames(error.__traceback__, code)
    # Python's own hook prints value.__traceback__, not tb.
    error = BaseException.with_traceback(error, tb)
    hook = getattr(sys, "excepthook", None)
    if hook is None:
        hook = sys.__excepthook__
    try:
        hook(type(error), error, tb)
    except BaseException as hook_error:  # noqa: BLE001 - as Python does
        sys.__excepthook__(type(hook_error), hook_error,
                           hook_error.__traceback__)
        finder_print("\nOriginal exception was:")
        sys.__excepthook__(type(error), error, tb)


def exit_as_python(error: BaseException) -> None:
    """Raise the program's uncaught exception, printed already, out of the
    finder, so that Python itself ends the process as it would have: exit
    status 1 (a SystemExit's code; killed by SIGINT for a
    KeyboardInterrupt), after the program's threads and atexit handlers."""
    if not issubclass(type(error), SystemExit):
        program_hook = sys.excepthook

        def printed_already(kind, value, tb):
            sys.excepthook = program_hook

        sys.excepthook = printed_already
    raise error


def run(args: argparse.Namespace, program: Program) -> None:
    session = Session(args)
    program.install()
    session.start()
    error = None
    try:
        program.run()
    except BaseException as exc:
        error = exc
        print_as_python(error, program.code)
    if os.getpid() == session.pid:
        # Not in a child the program forked: that one ends as it would
        # without the finder, without a report.
        try:
            session.end()
        except KeyboardInterrupt:
            session.end()
        write_report(session, args)
    if error is not None:
        try:
            exit_as_python(error)
        finally:
            error = None


def write_report(session: Session, args: argparse.Namespace) -> None:
    if session.failed is not None:
        finder_print(f"{TAG}: could not sample: {session.failed}")
        return
    if session.report is None:
        finder_print(f"{TAG}: the program ended before sampling began "
                     f"(--warmup {args.warmup:g} s): no report")
        return
    finder_print(session.report.format(args.top))
    if args.compare is not None:
        finder_print(session.report.format_comparison(args.compare))
    finder_print(f"{TAG}: end of the report")
    if args.output:
        try:
            session.report.write_json(args.output, args.top)
        except OSError as exc:
            finder_print(f"{TAG}: cannot write {args.output}: "
                         f"{exc.strerror}")


def main(argv: list | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sampling = not _gil_enabled()
    if not sampling:
        finder_print(f"{TAG}: {gil_message()} The program runs without "
                     "sampling.")
    try:
        program = load_program(args)
    except UsageError as exc:
        finder_print(f"{PROG}: error: {exc}")
        return 2
    except (SyntaxError, ValueError) as error:
        # As python reports it: through sys.excepthook, exit status 1.
        print_as_python(error, None)
        exit_as_python(error)
    if sampling:
        run(args, program)
        return 0
    program.install()
    try:
        program.run()
    except BaseException as error:
        print_as_python(error, program.code)
        exit_as_python(error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
