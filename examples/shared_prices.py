"""Find what contends: two threads price orders against one price list that
both read from a module global.

Run it under the contention finder (on a free-threaded Python):

    python -m threadhandle.contention examples/shared_prices.py 3000000

The report names PRICES and ITEMS, the prices read from PRICES (values
every reader takes a reference to), and what to do about each.  Run alone
(python examples/shared_prices.py [orders]) it just prints the totals.
"""
import sys
import threading

# Made at run time, as prices loaded from a file would be.
PRICES = {"apple": float("0.5"), "bread": float("2.25"),
          "cheese": float("7.0"), "milk": float("1.25")}
ITEMS = tuple(PRICES)


def total(orders: int) -> float:
    """The price of `orders` orders of one item each, in turn."""
    amount = 0.0
    for i in range(orders):
        amount += PRICES[ITEMS[i % 4]]
    return amount


def main() -> None:
    orders = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    totals = [0.0, 0.0]

    def worker(slot: int) -> None:
        totals[slot] = total(orders)

    threads = [threading.Thread(target=worker, args=(slot,))
               for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"orders per thread: {orders}")
    print(f"totals: {totals[0]:.2f} {totals[1]:.2f}")


if __name__ == "__main__":
    main()
