"""A bytes buffer global searched with .find and sliced."""
CATEGORY = "bytes"
SHARED = {"BUFFER": None}
REMEDIES = ["immortal:BUFFER", "handle:BUFFER", "read_once:BUFFER"]

BUFFER = b"GET /index.html HTTP/1.1\r\nHost: example.org\r\n\r\n"


def work(n):
    total = 0
    for i in range(n):
        total += BUFFER.find(b"\r\n", i & 7)
    return total


def work_local(n):
    buffer = BUFFER
    total = 0
    for i in range(n):
        total += buffer.find(b"\r\n", i & 7)
    return total


def remedy_read_once(mine, main):
    mine["work"] = mine["work_local"]
