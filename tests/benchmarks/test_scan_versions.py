"""benchmarks/scan_versions.py without a GPU: loading another version of the scan kernels
beside ours, refusing files that are not one, and picking each version's best round."""
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import mambaseq.kernels.triton_block_scan as ours_block
import mambaseq.kernels.triton_scan as ours
from benchmarks.scan import Cell
from benchmarks.scan_versions import BASELINE_MODULE, baseline_scan, best, load_baseline

SCAN_FILE = Path(ours.__file__)


def test_baseline_loads_as_its_own_module_beside_ours(tmp_path: Path) -> None:
    copy = tmp_path / "triton_scan_old.py"
    copy.write_text(SCAN_FILE.read_text())
    baseline = load_baseline(str(copy))
    assert baseline.__name__ == BASELINE_MODULE and sys.modules[BASELINE_MODULE] is baseline
    assert baseline is not ours and baseline.selective_scan_triton is not ours.selective_scan_triton
    assert baseline.ScanConfig is not ours.ScanConfig
    assert Path(baseline.__file__) == copy


def test_a_block_layout_baseline_is_called_as_the_dispatch_calls_it(tmp_path: Path) -> None:
    """A kernels/triton_block_scan.py of another commit: its selective_scan_block gets the
    tensors in order, the softplus flag, whether a gradient is wanted and the block layout."""
    copy = tmp_path / "triton_block_scan_old.py"
    copy.write_text(Path(ours_block.__file__).read_text())
    baseline = load_baseline(str(copy))
    assert baseline.selective_scan_block is not ours_block.selective_scan_block
    calls = []
    baseline.selective_scan_block = lambda *args: calls.append(args) or ("y", "final")
    scan = baseline_scan(baseline)
    tensors = [torch.zeros(1, 2, 3, requires_grad=True)] + [torch.zeros(1)] * 7
    assert scan(*tensors, delta_softplus=True) == "y"
    with torch.no_grad():
        assert scan(*tensors, return_final_state=True) == ("y", "final")
    (*given, softplus, init, wants_grad, config), (*_, no_softplus, _, no_grad, _) = calls
    assert all(g is t for g, t in zip(given, tensors)) and len(given) == 8
    assert (softplus, init, wants_grad, config.layout) == (True, None, True, "block")
    assert (no_softplus, no_grad) == (False, False)


def test_a_file_without_a_scan_is_refused_by_name(tmp_path: Path) -> None:
    other = tmp_path / "not_a_scan.py"
    other.write_text("X = 1\n")
    with pytest.raises(ValueError, match="not_a_scan.py: defines neither selective_scan_triton "
                       "nor selective_scan_block"):
        load_baseline(str(other))
    assert BASELINE_MODULE not in sys.modules


def test_a_file_that_fails_to_import_is_refused_by_name(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("from .no_such_module import x\n")
    with pytest.raises(ValueError, match="broken.py: does not import as a scan module"):
        load_baseline(str(broken))


def test_missing_baseline_exits_2_with_one_line_before_anything_runs(tmp_path: Path) -> None:
    missing = tmp_path / "gone.py"
    run = subprocess.run([sys.executable, "-m", "benchmarks.scan_versions", str(missing)],
                         capture_output=True, text=True)
    assert run.returncode == 2 and not run.stdout
    assert f"{missing}: no such file" in run.stderr.strip().splitlines()[-1]


def test_best_takes_each_time_at_its_fastest_round_and_the_largest_peak() -> None:
    cells = [Cell(2.0, 9.0, 1.0), Cell(3.0, 8.0, 1.5), Cell(note="out of memory")]
    assert best(cells) == Cell(2.0, 8.0, 1.5)
    assert math.isnan(best([Cell(note="out of memory")]).fwd_ms)


def test_rounds_below_one_exit_2_with_one_line_before_anything_runs() -> None:
    run = subprocess.run([sys.executable, "-m", "benchmarks.scan_versions", str(SCAN_FILE),
                          "--rounds", "0"], capture_output=True, text=True)
    assert run.returncode == 2 and not run.stdout
    assert "--rounds takes 1 or more, got 0" in run.stderr.strip().splitlines()[-1]


def test_negative_max_length_exits_2_with_one_line_before_anything_runs() -> None:
    run = subprocess.run([sys.executable, "-m", "benchmarks.scan_versions", str(SCAN_FILE),
                          "--max-length", "-1"], capture_output=True, text=True)
    assert run.returncode == 2 and not run.stdout
    assert "--max-length takes 0 (all) or a length, got -1" in run.stderr.strip().splitlines()[-1]
