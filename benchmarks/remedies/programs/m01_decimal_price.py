"""A Decimal unit price (module global) multiplied by each quantity."""
from decimal import Decimal

CATEGORY = "decimal"
SHARED = {"PRICE": None}
REMEDIES = ["immortal:PRICE", "handle:PRICE", "read_once:PRICE"]

PRICE = Decimal("19.99")


def work(n):
    quantities = [Decimal(k) for k in range(1, 5)]
    total = Decimal(0)
    for i in range(n):
        total += PRICE * quantities[i & 3]
    return str(total)


def work_local(n):
    price = PRICE
    quantities = [Decimal(k) for k in range(1, 5)]
    total = Decimal(0)
    for i in range(n):
        total += price * quantities[i & 3]
    return str(total)


def remedy_read_once(mine, main):
    mine["work"] = mine["work_local"]
