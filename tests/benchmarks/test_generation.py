"""benchmarks/generation.py end to end at tiny shapes on the CPU (``--smoke``): every section
but the peer's, our Mamba with both scan-state dtypes, its tables and CSV (times are not
checked: tests never time)."""
import csv
import subprocess
import sys


def test_smoke_run_times_both_state_dtypes(tmp_path) -> None:
    run = subprocess.run([sys.executable, "-m", "benchmarks.generation", "--smoke", "--out",
                          str(tmp_path), "--state-dtypes", "float32", "bfloat16"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    for table in ("### throughput", "### per-token latency", "### audio", "### step variants"):
        assert table in run.stdout
    rows = list(csv.DictReader(open(tmp_path / "generation.csv")))
    mamba = {(r["section"], r["state"], r["batch"]) for r in rows if r["model"] == "mamba"}
    for section, batches in (("throughput", ("1", "3")), ("long prompt", ("1",))):
        for state in ("float32", "bfloat16"):
            assert {(section, state, b) for b in batches} <= mamba
    assert all(float(r["ms_per_token"]) > 0 for r in rows if r["section"] == "throughput")
    assert {r["state"] for r in rows if r["model"] == "transformer"} == {""}


def test_unknown_state_dtype_exits_2() -> None:
    run = subprocess.run([sys.executable, "-m", "benchmarks.generation", "--smoke",
                          "--state-dtypes", "float16"], capture_output=True, text=True)
    assert run.returncode == 2 and "--state-dtypes" in run.stderr.strip().splitlines()[-1]


def test_peer_timing_ignores_one_stalled_call(monkeypatch) -> None:
    """decode_ms_per_token on a fake clock: a call of n tokens takes 10 + n ms, and the first
    short call stalls 50 ms more; the steady state is still 1 ms a token."""
    import torch

    from benchmarks import generation_peer
    clock = {"now": 0.0, "short calls": 0}

    def run(n: int) -> None:
        clock["now"] += (10 + n) / 1e3
        if n == generation_peer.SKIP_TOKENS + 1:
            clock["short calls"] += 1
            clock["now"] += 0.05 * (clock["short calls"] == 1)

    monkeypatch.setattr(generation_peer.time, "perf_counter", lambda: clock["now"])
    monkeypatch.setattr(torch.cuda, "synchronize", lambda: None)
    assert abs(generation_peer.decode_ms_per_token(run, 128) - 1.0) < 1e-9
