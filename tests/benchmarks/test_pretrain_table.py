"""benchmarks/pretrain_table.py reads the pretrain job's own log lines (the progress lines a
non-terminal gets and the closing summary) into one table row per run."""
import csv

from benchmarks.pretrain_table import main, row_of

LOG = """\
[mambaseq] step 10/80  loss 5.1031  214,798 tokens/s  elapsed 0:00:44  left 0:05:12
[mambaseq] step 20/80  loss 4.8098  552,953 tokens/s  elapsed 0:01:02  left 0:01:44
[mambaseq] step 30/80  loss 3.7235  553,455 tokens/s  elapsed 0:01:19  left 0:01:26
[mambaseq] step 40/80  loss 3.6080  560,000 tokens/s  elapsed 0:01:36  left 0:01:09
[mambaseq] 6,238,400 parameters (SaShiMiLM), 80 steps of 1 x 960000 samples
[mambaseq] validation: 4.7292 bits per sample (3.2780 nats; uniform over 256 levels = 8 bits)
[mambaseq] peak GPU memory: 15.10 GiB allocated (this process's GPU, training and validation)
"""


def test_row_from_a_log_skips_the_first_rate(tmp_path):
    (tmp_path / "a.log").write_text(LOG)
    row = row_of(tmp_path / "a.log")
    assert row == {"run": "a", "length": "960000", "batch": "1", "steps": "80",
                   "tokens_per_s": 553455, "peak_gib": "15.10", "val_bits_per_token": "4.7292",
                   "unit": "sample"}


def test_table_of_two_runs_one_of_them_cut_short(tmp_path, monkeypatch, capsys):
    (tmp_path / "long.log").write_text(LOG)
    (tmp_path / "short.log").write_text(LOG.split("[mambaseq] 6,238")[0])   # killed in training
    monkeypatch.setattr("sys.argv", ["pretrain_table", str(tmp_path), "long", "short",
                                     "--stem", "pair"])
    main()
    rows = list(csv.DictReader(open(tmp_path / "pair.csv")))
    assert [r["run"] for r in rows] == ["long", "short"]
    assert rows[1]["val_bits_per_token"] == "" and rows[1]["tokens_per_s"] == "553455"
    assert capsys.readouterr().out.startswith("| run | length |")
    assert (tmp_path / "pair.md").read_text().count("\n") == 4
