"""The scripts in examples/ run, exit 0 and print what they promise, so they
cannot rot.  Each runs in a fresh interpreter (this one, with -P, so it
imports the installed threadhandle)."""
import os
import subprocess
import sys

import pytest

EXAMPLES_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")

# Each example's whole standard output.
EXPECTED_OUTPUT = {
    "quick_start.py": """\
totals: [5, 5, 7, 5]
handle == object: True
isinstance(handle, dict): True
unwrap(handle) is prices: True
type(handle).__name__: ThreadHandle
""",
    "thread_pool_shared_dict.py": """\
encoded 100 sentences
first: [0, 1, 2, 3]
last: [5, 0, 7, 2, 8]
""",
    "futures_initializer.py": """\
scored 200 samples
first three: [18.4, 20.3, 18.3]
total: 3800.7
""",
    "shared_prices.py": """\
orders per thread: 200000
totals: 550000.00 550000.00
""",
    "local_handle_callbacks.py": """\
orders that can be filled: 49
at most one handle per worker: True
all handle the inventory: True
main thread reuses its own: True
""",
}

pytestmark = pytest.mark.skipif(
    not os.path.isdir(EXAMPLES_DIR), reason="no examples/ folder (installed "
    "tests run without the source tree)")


def test_every_example_is_checked():
    scripts = {name for name in os.listdir(EXAMPLES_DIR)
               if name.endswith(".py")}
    assert scripts == set(EXPECTED_OUTPUT)


@pytest.mark.parametrize("script", sorted(EXPECTED_OUTPUT))
def test_example(script, tmp_path):
    result = subprocess.run(
        [sys.executable, "-P", os.path.join(EXAMPLES_DIR, script)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXPECTED_OUTPUT[script]
