"""python -m threadhandle.contention [options] script.py [args]
python -m threadhandle.contention [options] -m module [args]

Runs the program as __main__ (as cProfile does), samples it after a warmup
for a duration or until its main code returns, and prints the report of the
objects its threads contend on when the program ends, or on Ctrl-C.  The
program's exit status is kept.  Progress goes to stderr."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import traceback
import types

from threadhandle.contention import (
    DEFAULT_CAP, DEFAULT_DUTY, DEFAULT_RATE, DEFAULT_REFRESH, GIL_MESSAGE,
    Finder, Report,
    _gil_enabled)
from threadhandle.contention._graph import _HERE

PROG = "python -m threadhandle.contention"


class UsageError(Exception):
    """Bad input: reported in one line, exit status 2."""


def positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}")
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
        return value
    return parse


def before_report(path: str):
    try:
        return Report.load(path)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise argparse.ArgumentTypeError(
            f"cannot read the report {path!r}: {exc}")


def parse_args(argv: list) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__.split("\n\n", 1)[1],
        usage=f"{PROG} [options] (script.py | -m module) [args]")
    parser.add_argument("-m", dest="module", metavar="module",
                        help="run a module as a script (as python -m does)")
    parser.add_argument("--warmup", type=float, default=1.0, metavar="S",
                        help="seconds before sampling starts (default 1)")
    parser.add_argument("--duration", type=positive(float), metavar="S",
                        help="seconds of sampling (default: until the "
                             "program ends)")
    parser.add_argument("--top", type=positive(int), default=10, metavar="N",
                        help="entries in the report (default 10)")
    parser.add_argument("--cap", type=positive(int), default=DEFAULT_CAP,
                        metavar="N", help="at most N candidate objects "
                        f"(default {DEFAULT_CAP:,})")
    parser.add_argument("--refresh", type=positive(float),
                        default=DEFAULT_REFRESH, metavar="S",
                        help="seconds between two gatherings of the "
                             f"candidates (default {DEFAULT_REFRESH:g}); the "
                             "finder holds each candidate at most this long")
    parser.add_argument("--duty", type=positive(float), default=DEFAULT_DUTY,
                        metavar="F", help="the sampling thread's share of one "
                        f"core, up to 1 (default {DEFAULT_DUTY:g})")
    parser.add_argument("--rate", type=positive(float), default=DEFAULT_RATE,
                        metavar="R", help="sweeps per second at most "
                        f"(default {DEFAULT_RATE:g})")
    parser.add_argument("-o", "--output", metavar="PATH",
                        help="also write the report as JSON to PATH")
    parser.add_argument("--compare", type=before_report, metavar="PATH",
                        help="a report written by -o before a remedy was "
                        "applied: also print what changed for each entry")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress on stderr")
    parser.add_argument("args", nargs=argparse.REMAINDER,
                        help="the script and its arguments (or the "
                             "module's arguments)")
    args = parser.parse_args(argv)
    if args.warmup < 0:
        parser.error("--warmup must be >= 0")
    if args.duty > 1:
        parser.error("--duty must be <= 1 (a fraction of one core)")
    if args.rate > 1e6:
        parser.error("--rate must be <= 1e6")
    if args.module is None and not args.args:
        parser.error("name a script (or -m module) to run")
    return args


def load_program(args: argparse.Namespace) -> tuple:
    """(code, module to run it in, sys.argv for it)."""
    if args.module is not None:
        import runpy
        try:
            # What cProfile does for -m.
            name, spec, code = runpy._get_module_details(args.module)
        except ImportError as exc:
            raise UsageError(f"no module {args.module!r}: {exc}") from None
        except Exception as exc:  # the module's package raised on import
            raise UsageError(f"cannot run module {args.module!r}: "
                             f"{type(exc).__name__}: {exc}") from None
        module = types.ModuleType("__main__")
        module.__dict__.update(__spec__=spec, __file__=spec.origin,
                               __loader__=spec.loader,
                               __package__=spec.parent)
        return code, module, [spec.origin] + args.args
    script, *script_args = args.args
    try:
        with open(script, "rb") as file:
            source = file.read()
    except OSError as exc:
        raise UsageError(f"cannot open script {script!r}: "
                         f"{exc.strerror}") from None
    try:
        code = compile(source, script, "exec")
    except (SyntaxError, ValueError) as exc:
        raise UsageError(f"{script}: {type(exc).__name__}: {exc}") from None
    module = types.ModuleType("__main__")
    module.__dict__.update(__file__=script, __builtins__=__builtins__)
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    return code, module, [script] + script_args


class Session:
    """The finder's life around the program: started after the warmup,
    stopped after the duration or when the program ends."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.finder = None
        self.report = None
        self.lock = threading.Lock()
        self.ended = threading.Event()
        self.timer = threading.Thread(target=self._time, daemon=True,
                                      name="threadhandle.contention timer")

    def _progress(self, elapsed: float, rate: float, size: int) -> None:
        print(f"threadhandle.contention: {elapsed:5.1f} s, "
              f"{rate:,.0f} sweeps/s, {size:,} candidates",
              file=sys.stderr, flush=True)

    def _time(self) -> None:
        if self.ended.wait(self.args.warmup):
            return
        with self.lock:
            if self.ended.is_set():
                return
            self.finder = Finder(
                cap=self.args.cap, refresh=self.args.refresh,
                duty=self.args.duty, rate=self.args.rate, top=self.args.top,
                progress=None if self.args.quiet else self._progress)
            self.finder.start()
        if self.args.duration is not None and not self.ended.wait(
                self.args.duration):
            self.stop()

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        with self.lock:
            if self.finder is not None and self.report is None:
                self.report = self.finder.stop()

    def end(self) -> None:
        self.ended.set()
        self.stop()


def strip_our_frames(tb):
    """The traceback from the program's first frame on."""
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(
            _HERE):
        tb = tb.tb_next
    return tb


def run(args: argparse.Namespace, program: tuple) -> int:
    code, module, argv = program
    session = Session(args)
    sys.argv = argv
    sys.modules["__main__"] = module
    status = 0
    session.start()
    try:
        exec(code, module.__dict__)
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (
            0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    except KeyboardInterrupt:
        print("threadhandle.contention: interrupted", file=sys.stderr)
        status = 130
    except BaseException as exc:
        traceback.print_exception(type(exc), exc,
                                  strip_our_frames(exc.__traceback__))
        status = 1
    try:
        session.end()
    except KeyboardInterrupt:
        session.end()
    write_report(session, args)
    return status


def write_report(session: Session, args: argparse.Namespace) -> None:
    sys.stdout.flush()
    if session.report is None:
        print(f"threadhandle.contention: the program ended before sampling "
              f"began (--warmup {args.warmup:g} s): no report",
              file=sys.stderr)
        return
    print(session.report.format(args.top), flush=True)
    if args.compare is not None:
        print(session.report.format_comparison(args.compare), flush=True)
    if args.output:
        try:
            session.report.write_json(args.output, args.top)
        except OSError as exc:
            print(f"threadhandle.contention: cannot write {args.output}: "
                  f"{exc.strerror}", file=sys.stderr)


def main(argv: list | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        program = load_program(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    if _gil_enabled():
        print(f"{PROG}: {GIL_MESSAGE}", file=sys.stderr)
        return 2
    return run(args, program)


if __name__ == "__main__":
    sys.exit(main())
