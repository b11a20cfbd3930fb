"""``mambaseq scale``: a tiny sweep writes one CSV row per (size, length) and three plots, and
a sweep split over calls resumes."""
import csv
import math
import time

import torch
from omegaconf import OmegaConf

from mambaseq.pipelines.cli import main
from mambaseq.pipelines.evaluation.peak_memory import PeakMemory
from tests.bundled import DNA_FASTA as BUNDLED, REPO

DEMO = REPO / "configs" / "scale" / "dna_demo.yaml"
COLUMNS = ["length", "log2_length", "d_model", "n_layer", "seed", "params", "batch_size", "steps",
           "tokens_per_s", "peak_memory_mb", "memory_measure", "val_windows", "val_loss",
           "val_bits_per_base", "status"]


def test_tiny_sweep_writes_csv_and_plots(tmp_path, capsys):
    args = [f"data.fasta={BUNDLED}", f"trainer.output_dir={tmp_path}", "trainer.max_steps=2",
            "sweep.log2_lengths=[5,7]", "sweep.tokens_per_step=256", "data.max_val_windows=2",
            "sweep.sizes=[{d_model: 16, n_layer: 1}, {d_model: 24, n_layer: 2}]"]
    assert main(["scale", str(DEMO), *args]) == 0
    run = tmp_path / "scale-dna-demo"
    assert (run / "config.yaml").is_file()
    with open(run / "scale.csv") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames == COLUMNS
    assert [(int(r["d_model"]), int(r["n_layer"]), int(r["length"])) for r in rows] == [
        (16, 1, 32), (16, 1, 128), (24, 2, 32), (24, 2, 128)]
    assert [int(r["batch_size"]) for r in rows] == [8, 2, 8, 2]          # 256 tokens per step
    assert int(rows[0]["params"]) < int(rows[2]["params"])
    for r in rows:
        assert r["status"] == "ok" and r["memory_measure"] == "cpu_peak_heap_delta"
        assert float(r["tokens_per_s"]) > 0 and float(r["peak_memory_mb"]) > 0
        assert 1.0 < float(r["val_bits_per_base"]) < 4.5
    for name in ("loss_vs_length.png", "throughput_vs_length.png", "memory_vs_length.png"):
        assert (run / name).stat().st_size > 1000
    assert (run / "runs" / "L128_d24_n2_s0" / "logs" / "metrics.csv").is_file()
    assert "| length | log2_length |" in capsys.readouterr().out


def test_peak_memory_sees_a_cpu_allocation_and_its_release():
    with PeakMemory(torch.device("cpu")) as probed:     # an explicit sample while 8 MiB is held
        x = torch.ones(8 * 2 ** 20 // 4)
        probed.sample()
        del x
    assert 7.5 < probed.peak_mb < 64
    with PeakMemory(torch.device("cpu"), interval_s=0.001) as timed:   # the timer alone
        x = torch.ones(8 * 2 ** 20 // 4)
        time.sleep(0.3)
        del x
    assert 7.5 < timed.peak_mb < 64
    with PeakMemory(torch.device("cpu")) as idle:       # nothing allocated inside: no growth
        pass
    assert not math.isnan(idle.peak_mb) and idle.peak_mb < 1


def test_sweep_that_cannot_fit_a_window_is_a_user_error(tmp_path, capsys):
    assert main(["scale", str(DEMO), "sweep.tokens_per_step=1024", "sweep.log2_lengths=[8,11]",
                 f"trainer.output_dir={tmp_path}"]) == 2
    assert "sweep.tokens_per_step = 1024 is less than the longest length 2^11" in capsys.readouterr().err


def test_shipped_scale_configs_load():
    from mambaseq.pipelines.config import load_config
    from mambaseq.pipelines.jobs.scale import ScaleJobConfig
    gpu, _ = load_config(ScaleJobConfig, REPO / "configs" / "scale" / "great_apes_2e10_2e20.yaml")
    assert max(gpu.sweep.log2_lengths) == 20 and gpu.sweep.tokens_per_step >= 2 ** 20
    demo, _ = load_config(ScaleJobConfig, DEMO)
    assert demo.trainer.accelerator == "cpu" and len(demo.sweep.sizes) == 2


def test_a_sweep_split_over_calls_resumes_and_keeps_each_cells_config(tmp_path, capsys):
    """Cells run one per call (as benchmarks/scale_calls.sh does on the GPU): the second call
    skips the first's cell and appends its own; each cell folder keeps the config that reruns
    it alone; a call with another recipe is refused in one line and leaves the table whole."""
    base = [f"data.fasta={BUNDLED}", f"trainer.output_dir={tmp_path}", "trainer.max_steps=1",
            "sweep.tokens_per_step=256", "data.max_val_windows=1",
            "sweep.sizes=[{d_model: 16, n_layer: 1}]"]
    run = tmp_path / "scale-dna-demo"
    assert main(["scale", str(DEMO), *base, "sweep.log2_lengths=[5]", "sweep.seeds=[0]"]) == 0
    assert main(["scale", str(DEMO), *base, "sweep.log2_lengths=[5,7]", "sweep.seeds=[0]"]) == 0
    assert f"{run / 'scale.csv'} holds 1 cell(s); running the rest" in capsys.readouterr().out
    with open(run / "scale.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(int(r["length"]), int(r["seed"])) for r in rows] == [(32, 0), (128, 0)]
    for length, k in ((32, 5), (128, 7)):
        cell = OmegaConf.load(run / "runs" / f"L{length}_d16_n1_s0" / "config.yaml")
        assert list(cell.sweep.log2_lengths) == [k] and list(cell.sweep.seeds) == [0]
        assert OmegaConf.to_container(cell.sweep.sizes) == [{"d_model": 16, "n_layer": 1}]
        assert cell.trainer.max_steps == 1 and cell.sweep.tokens_per_step == 256
    table = (run / "scale.csv").read_bytes()
    assert main(["scale", str(DEMO), *base, "sweep.log2_lengths=[6]", "optim.lr=0.5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "another recipe (optim differ)" in err[0], err
    assert (run / "scale.csv").read_bytes() == table
