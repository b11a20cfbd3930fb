"""benchmarks/scan.py's arguments: the register caps of ``--regcaps``, the tiles per saved
state of ``--saved-states`` and the steps per tile of ``--tile-steps`` (and scan_profile.py's
``--lengths``); the warm-up before timing, on a fake clock (the timing itself needs a GPU)."""
import subprocess
import sys

import pytest

from benchmarks.scan import DEFAULT_REGCAPS, parse_caps, scan_arguments, warm_up


class FakeClock:
    """Seconds that advance only when ``spend`` is called."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def spend(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize("call_ms, calls", [(0.3, 167), (12.0, 5), (60.0, 1), (1000.0, 1)])
def test_warm_up_runs_a_function_for_its_wall_time_and_at_least_once(call_ms, calls) -> None:
    clock = FakeClock()
    assert warm_up(lambda: clock.spend(call_ms / 1e3), 50.0, clock) == calls


def test_parse_caps_reads_forward_and_backward_caps() -> None:
    assert parse_caps(["0:0", "96:168", "255:24"]) == [(0, 0), (96, 168), (255, 24)]
    assert len(parse_caps(DEFAULT_REGCAPS)) == len(DEFAULT_REGCAPS)


@pytest.mark.parametrize("text", ["96", "96:", "a:0", "-1:0", "16:0", "0:256", "96:168:1"])
def test_parse_caps_rejects_what_ptxas_cannot_take(text: str) -> None:
    with pytest.raises(ValueError, match=repr(text).replace("(", r"\(")):
        parse_caps([text])


def test_bad_caps_exit_2_with_one_line_before_anything_runs() -> None:
    run = subprocess.run([sys.executable, "-m", "benchmarks.scan", "--regcaps", "0:300"],
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert "'0:300'" in run.stderr.strip().splitlines()[-1] and not run.stdout


def test_saved_states_below_one_exit_2_with_one_line() -> None:
    run = subprocess.run([sys.executable, "-m", "benchmarks.scan", "--saved-states", "8", "0"],
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert "[8, 0]" in run.stderr.strip().splitlines()[-1] and not run.stdout


def test_tile_steps_other_than_4_or_8_exit_2_with_one_line() -> None:
    run = subprocess.run([sys.executable, "-m", "benchmarks.scan", "--tile-steps", "8", "16"],
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert "[8, 16]" in run.stderr.strip().splitlines()[-1] and not run.stdout


def test_scan_arguments_put_each_input_where_the_scan_takes_it() -> None:
    names = ["u", "delta", "A", "B", "C", "D", "z", "delta_bias"]
    core, kw = scan_arguments({name: f"<{name}>" for name in names})
    assert core == ("<u>", "<delta>", "<A>", "<B>", "<C>")
    assert kw == dict(D="<D>", z="<z>", delta_bias="<delta_bias>", delta_softplus=True)


def test_scan_profile_lengths_below_one_exit_2_with_one_line() -> None:
    run = subprocess.run([sys.executable, "-m", "benchmarks.scan_profile", "--lengths", "512",
                          "0"], capture_output=True, text=True)
    assert run.returncode == 2
    assert "[512, 0]" in run.stderr.strip().splitlines()[-1] and not run.stdout
