"""The finder's options, each defined once: its default, its limits and
what it means.  Finder and sample() check their arguments here, the command
line (__main__) makes its options from here, and
benchmarks/contention_cost.py reads the defaults from here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    """One option: a number above `low` (or at least `low`, `inclusive`),
    at most `high` if given."""
    name: str
    default: int | float
    kind: type               # int or float
    help: str                # for --help, with the default appended
    metavar: str
    low: float = 0
    inclusive: bool = False
    high: float | None = None
    unit: str = ""           # said after the limits in an error

    def limits(self, unit: bool = True) -> str:
        text = f"{'>=' if self.inclusive else '>'} {_number(self.low)}"
        if self.high is not None:
            text += f" and <= {_number(self.high)}"
        return text + (f" ({self.unit})" if unit and self.unit else "")

    def fits(self, value) -> bool:
        above = value >= self.low if self.inclusive else value > self.low
        return above and (self.high is None or value <= self.high)

    def check(self, value) -> None:
        """ValueError unless value fits (NaN never does)."""
        if not self.fits(value):
            raise ValueError(f"{self.name} must be {self.limits()}")


def _number(value: float) -> str:
    return f"{int(value):,}" if value == int(value) else f"{value:g}"


CAP = Option("cap", 100_000, int, "at most N candidate objects", "N", low=1,
             inclusive=True)
REFRESH = Option("refresh", 2.0, float,
                 "seconds between two gatherings of the candidates; the "
                 "finder holds each candidate at most this long", "S",
                 unit="seconds")
DUTY = Option("duty", 0.1, float, "the sampling thread's share of one core",
              "F", high=1.0, unit="a fraction of one core")
RATE = Option("rate", 2000.0, float, "sweeps per second at most", "R",
              high=1e6, unit="sweeps a second")
TOP = Option("top", 10, int, "entries the report describes", "N", low=1,
             inclusive=True)

# In the order the command line lists them.
OPTIONS = (TOP, CAP, REFRESH, DUTY, RATE)
