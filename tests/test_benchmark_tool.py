"""The benchmark tool runs and reports every case (a smoke test: no figure
is checked; speed is measured by `make bench`, never by a test)."""
import json
import pathlib
import subprocess
import sys

SCALING = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "scaling.py"


def test_quick_run_reports_every_workload(tmp_path):
    out = tmp_path / "quick.json"
    result = subprocess.run(
        [sys.executable, "-P", str(SCALING), "--quick", "--json", str(out),
         "--plot", "none"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "ThreadHandle" in result.stdout
    assert "d.get(5)" in result.stdout
    data = json.loads(out.read_text())
    assert data  # the raw medians are there for every case that ran


def test_help_describes_the_options():
    result = subprocess.run([sys.executable, "-P", str(SCALING), "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for option in ("--threads", "--batches", "--callgrind", "--quick"):
        assert option in result.stdout
