"""The benchmark tool runs and reports every case (a smoke test: no figure
is checked; speed is measured by `make bench`, never by a test)."""
import json
import pathlib
import subprocess
import sys

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"
# The benchmark is a package; `python -P benchmarks/scaling` runs it.
SCALING = BENCHMARKS / "scaling"


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


def test_quick_run_has_the_slot_floor_column():
    result = subprocess.run(
        [sys.executable, "-P", str(SCALING), "--quick", "--workloads",
         "number,attr", "--proxies", "own,threadhandle,floor", "--json",
         "none", "--plot", "none"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "slot floor: built from floor_proxy.c" in result.stdout
    assert "floor/own copy" in result.stdout


def test_a_floor_proxy_that_does_not_build_gets_a_reason(monkeypatch,
                                                         tmp_path):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from scaling import proxies
    finally:
        sys.path.remove(str(BENCHMARKS))
    real = proxies.sysconfig.get_config_var

    def broken_compiler(name):
        return "no-such-compiler -shared" if name == "LDSHARED" else real(name)

    monkeypatch.setattr(proxies, "BUILD_DIR", tmp_path)
    monkeypatch.setattr(proxies.sysconfig, "get_config_var", broken_compiler)
    wrapper, _, unavailable = proxies.build_floor_proxy()
    assert wrapper is None
    assert unavailable.startswith("not built (")
    assert "no-such-compiler" in unavailable
    assert list(tmp_path.iterdir()) == []
