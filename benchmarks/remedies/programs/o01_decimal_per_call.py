"""Decimals made per call: each instance counts the Decimal type."""
import decimal
from decimal import Decimal

CATEGORY = "C-type instances"
SHARED = {"Decimal type": lambda ns: (decimal.Decimal,)}
REMEDIES = ["fewer_instances:Decimal type"]


def work(n):
    total = Decimal(0)
    for i in range(n):
        total += Decimal(i & 255)
    return str(total)


def work_fewer(n):
    # Integers in the loop, one Decimal at the end.
    total = 0
    for i in range(n):
        total += i & 255
    return str(Decimal(0) + Decimal(total))


def remedy_fewer_instances(mine, main):
    mine["work"] = mine["work_fewer"]
