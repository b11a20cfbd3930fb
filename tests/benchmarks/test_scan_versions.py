"""benchmarks/scan_versions.py without a GPU: loading another version of the scan kernels
beside ours, refusing files that are not one, and picking each version's best round."""
import math
import subprocess
import sys
from pathlib import Path

import pytest

import mambaseq.kernels.triton_scan as ours
from benchmarks.scan import Cell
from benchmarks.scan_versions import BASELINE_MODULE, best, load_baseline

SCAN_FILE = Path(ours.__file__)


def test_baseline_loads_as_its_own_module_beside_ours(tmp_path: Path) -> None:
    copy = tmp_path / "triton_scan_old.py"
    copy.write_text(SCAN_FILE.read_text())
    baseline = load_baseline(str(copy))
    assert baseline.__name__ == BASELINE_MODULE and sys.modules[BASELINE_MODULE] is baseline
    assert baseline is not ours and baseline.selective_scan_triton is not ours.selective_scan_triton
    assert baseline.ScanConfig is not ours.ScanConfig
    assert Path(baseline.__file__) == copy


def test_a_file_without_a_scan_is_refused_by_name(tmp_path: Path) -> None:
    other = tmp_path / "not_a_scan.py"
    other.write_text("X = 1\n")
    with pytest.raises(ValueError, match="not_a_scan.py: defines no selective_scan_triton"):
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
