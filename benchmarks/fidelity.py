"""Fidelity against the peers: the same expression on an object and through
each proxy of it, threadhandle's and its peers' (cereggii.ThreadHandle,
ft_utils.local.LocalWrapper), each in a process of its own (a proxy that
crashes the interpreter is reported as such, and the others still run).

    python -P benchmarks/fidelity.py

Needs numpy and the peers (`make bench` installs them into the venv of
the free-threaded interpreter: `.venv-ft3.14/bin/python -P
benchmarks/fidelity.py`).  Prints a Markdown table: "ok" where the proxy
gives what the object gives, else what it gave (an exception's type, or
"crash: signal N").  docs/benchmark.md quotes a run.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

PROXIES = {
    "threadhandle": "from threadhandle import ThreadHandle as make",
    "cereggii": "from cereggii import ThreadHandle as make",
    "ft_utils": "from ft_utils.local import LocalWrapper as make",
}
PACKAGES = {"threadhandle": "threadhandle", "cereggii": "cereggii",
            "ft_utils": "ft_utils"}

SETUP = """
import math, threading
import numpy as np


class Model:
    w = 2.0

    def predict(self, x):
        return self.w * x

    def __len__(self):
        return 3
"""

# (what, the object, the expression on `o`)
PROBES = [
    ("`len(d)`", "{i: i for i in range(10)}", "len(o)"),
    ("`d[5]`", "{i: i for i in range(10)}", "o[5]"),
    ("`5 in d`", "{i: i for i in range(10)}", "5 in o"),
    ("`isinstance(d, dict)`", "{i: i for i in range(10)}",
     "isinstance(o, dict)"),
    ("`d | {}`", "{i: i for i in range(10)}", "len(o | {})"),
    ("`f * 2.0`", "1.5", "o * 2.0"),
    ("`2.0 * f`", "1.5", "2.0 * o"),
    ("`math.sqrt(f)`", "4.0", "math.sqrt(o)"),
    ("`range(i)`", "3", "list(range(o))"),
    ("`m.predict(1.0)`", "Model()", "o.predict(1.0)"),
    ("`len(m)`, a class with `__len__`", "Model()", "len(o)"),
    ("`'a' + s`", "'abc'", "'a' + o"),
    ("`np.dot(w, x)`", "np.ones(3)", "float(np.dot(o, np.ones(3)))"),
    ("`memoryview(b)`", "b'abc'", "bytes(memoryview(o))"),
    ("`with lock`", "threading.Lock()",
     "(o.__enter__(), o.__exit__(None, None, None))[0]"),
]

CHILD = SETUP + """
import sys
obj = {obj}
{import_line}
o = make(obj) if {through} else obj
try:
    print(repr({expression}))
except Exception as exc:
    print(type(exc).__name__)
"""


def outcome(obj: str, expression: str, proxy: str | None) -> str:
    source = CHILD.format(obj=obj, expression=expression,
                          import_line=PROXIES[proxy] if proxy else "",
                          through=proxy is not None)
    result = subprocess.run([sys.executable, "-P", "-c", source],
                            capture_output=True, text=True, timeout=60)
    if result.returncode < 0:
        return f"crash: signal {-result.returncode}"
    if result.returncode:
        last = result.stderr.strip().splitlines()[-1:] or ["?"]
        return f"failed: {last[0]}"
    return result.stdout.strip()


def main() -> int:
    available = []
    for proxy, package in PACKAGES.items():
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            print(f"{proxy}: not installed; its column is left out",
                  file=sys.stderr)
            continue
        available.append((proxy, version))
    print(f"Python {sys.version.split()[0]}"
          f"{'t' if not getattr(sys, '_is_gil_enabled', lambda: 1)() else ''}"
          ", " + ", ".join(f"{p} {v}" for p, v in available))
    print()
    print("| probe | the object gives | "
          + " | ".join(p for p, _ in available) + " |")
    print("|---|---|" + "---|" * len(available))
    for index, (what, obj, expression) in enumerate(PROBES, 1):
        print(f"probe {index}/{len(PROBES)}", file=sys.stderr)
        expected = outcome(obj, expression, None)
        cells = []
        for proxy, _ in available:
            got = outcome(obj, expression, proxy)
            cells.append("ok" if got == expected else f"**{got}**")
        print(f"| {what} | `{expected}` | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
