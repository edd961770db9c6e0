"""A shared decimal Context (precision 12) used for every multiplication."""
import decimal
from decimal import Decimal

CATEGORY = "decimal"
SHARED = {"MONEY": None}
REMEDIES = ["deferred:MONEY", "handle:MONEY", "immortal:MONEY",
            "bind_once:MONEY"]

MONEY = decimal.Context(prec=12)


def work(n):
    rates = [Decimal(k) / 7 for k in range(1, 5)]
    total = 0
    for i in range(n):
        total += MONEY.multiply(rates[i & 3], rates[(i + 1) & 3]).adjusted()
    return total


def work_bound(n):
    multiply = MONEY.multiply
    rates = [Decimal(k) / 7 for k in range(1, 5)]
    total = 0
    for i in range(n):
        total += multiply(rates[i & 3], rates[(i + 1) & 3]).adjusted()
    return total


def remedy_bind_once(mine, main):
    mine["work"] = mine["work_bound"]
