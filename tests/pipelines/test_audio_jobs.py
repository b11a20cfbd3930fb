"""Audio end to end on the CPU: pretrain on the bundled speech (U-Net and flat backbones),
generate WAV clips (unconditional and from a prompt), the SC09 classifier, evaluate, errors."""
import csv
import shutil
from pathlib import Path

import soundfile as sf

from mambaseq.audiomamba import SaShiMiLM, save_wav
from mambaseq.core import MambaLM, load_model
from mambaseq.pipelines.cli import main
from tests.bundled import REPO

from ..audiomamba.synth import make_sc09, tone

DEMO = REPO / "configs" / "audio" / "demo.yaml"
CLASSIFIER = REPO / "configs" / "audio" / "sc09_classifier.yaml"


def tiny(out: Path, *extra: str) -> list[str]:
    return [f"data.root={REPO / 'audiomamba' / 'data' / 'speech_16k'}", f"trainer.output_dir={out}",
            "trainer.max_steps=2", "trainer.val_every_n_steps=2", "trainer.checkpoint_every_n_steps=2",
            "trainer.progress_bar=false", "data.seq_len=48", "data.batch_size=2",
            "data.max_val_crops=2", "model.d_model=8", "optim.warmup_steps=1", *extra]


def test_audio_pretrain_generate_evaluate(tmp_path, capsys):
    assert main(["pretrain", str(DEMO), *tiny(tmp_path)]) == 0
    run = tmp_path / "audio-demo"
    model, extra = load_model(run / "model.pt")
    assert isinstance(model, SaShiMiLM) and model.pool == [4, 4]
    assert extra["domain"] == "audio" and extra["tokenizer"] == "audio-mulaw-256"
    bits = extra["metrics"]["val_bits_per_sample"]
    assert 0 < bits < 9 and f"{bits:.4f} bits per sample" in capsys.readouterr().out

    out = tmp_path / "clips"
    assert main(["generate", "--checkpoint", str(run / "model.pt"), "--num-samples", "3",
                 "--batch-size", "2", "--num-tokens", "40", "--out-dir", str(out)]) == 0
    clips = sorted(out.glob("*.wav"))
    assert [c.name for c in clips] == ["clip_0000.wav", "clip_0001.wav", "clip_0002.wav"]
    for clip in clips:
        info = sf.info(clip)
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, 1, 40, "PCM_16")
    assert (out / "samples.png").stat().st_size > 1000
    assert "samples per second" in capsys.readouterr().out
    again = ["generate", "--checkpoint", str(run / "model.pt"), "--num-samples", "1",
             "--num-tokens", "40", "--out-dir", str(out)]
    assert main(again) == 2                              # the earlier clips are not overwritten
    assert "pass --overwrite" in capsys.readouterr().err and len(list(out.glob("*.wav"))) == 3
    assert main([*again, "--overwrite"]) == 0            # and none of them stays beside the new
    assert [c.name for c in out.glob("*.wav")] == ["clip_0000.wav"]
    assert main(["generate", "--checkpoint", str(run / "model.pt"), "--prompt", "ACGT"]) == 2
    assert "--prompt applies to dna models" in capsys.readouterr().err

    prompt = save_wav(tmp_path / "prompt.wav", tone(400, 0.002))      # 32 samples
    assert main(["generate", "--checkpoint", str(run / "checkpoints" / "last.ckpt"),
                 "--prompt-audio", str(prompt), "--num-tokens", "20", "--out-dir",
                 str(tmp_path / "cont")]) == 0
    continued, _ = sf.read(tmp_path / "cont" / "clip_0000.wav")
    assert continued.shape == (52,)
    assert main(["generate", "--checkpoint", str(run / "model.pt"), "--prompt-audio", str(prompt),
                 "--num-tokens", "20", "--state-dtype", "bfloat16", "--out-dir",
                 str(tmp_path / "bf16")]) == 0               # the U-Net's prefill and steps
    assert sf.read(tmp_path / "bf16" / "clip_0000.wav")[0].shape == (52,)
    assert abs(continued[:32] - tone(400, 0.002).numpy()).max() < 0.03   # mu-law of the prompt

    assert main(["evaluate", "--checkpoint", str(run / "model.pt"), "--output",
                 str(tmp_path / "nll.csv")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "nll.csv")))
    assert rows[0]["set"] == "test" and 0 < float(rows[0]["bits_per_sample"]) < 9


def test_flat_backbone_on_audio(tmp_path):
    assert main(["pretrain", str(DEMO), *tiny(tmp_path, "backbone.kind=mamba")]) == 0
    model, _ = load_model(tmp_path / "audio-demo" / "model.pt")
    assert type(model) is MambaLM and model.config.vocab_size == 256


def test_sc09_classifier_and_sample_metrics(tmp_path, capsys):
    sc09 = make_sc09(tmp_path / "sc09", speakers=5)
    assert main(["sc09-classifier", str(CLASSIFIER), f"data.root={sc09}", f"trainer.output_dir={tmp_path}",
                 "trainer.max_steps=30", "trainer.val_every_n_steps=30", "trainer.progress_bar=false",
                 "trainer.accelerator=cpu", "data.batch_size=10", "data.num_workers=0", "optim.warmup_steps=3"]) == 0
    classifier = tmp_path / "sc09-classifier" / "classifier.pt"
    assert classifier.is_file() and "test accuracy" in capsys.readouterr().out
    samples = tmp_path / "generated"
    samples.mkdir()
    for path in sorted((sc09).glob("*/spk01_nohash_0.wav"))[:8]:
        shutil.copy(path, samples / f"{path.parent.name}.wav")
    assert main(["evaluate", "--samples", str(samples), "--classifier", str(classifier),
                 "--sc09", str(sc09)]) == 0
    rows = {r["set"]: r for r in csv.DictReader(open(samples / "evaluation.csv"))}
    assert set(rows) == {"test", "generated"} and rows["generated"]["clips"] == "8"
    assert float(rows["test"]["accuracy"]) > 0.5            # tones are easy: it learned
    for name in ("test", "generated"):
        assert float(rows[name]["fid"]) >= 0 and float(rows[name]["is"]) >= 1
        assert float(rows[name]["mis"]) >= 1 and float(rows[name]["am"]) >= 0


def test_audio_config_errors(tmp_path, capsys):
    assert main(["pretrain", str(DEMO), "model.vocab_size=10", f"trainer.output_dir={tmp_path}"]) == 2
    assert "'model.vocab_size' is 10, the audio tokens number 256" in capsys.readouterr().err
    assert main(["pretrain", str(DEMO), "data.dataset=mp3s", f"trainer.output_dir={tmp_path}"]) == 2
    assert "demo.yaml: data.dataset must be one of" in capsys.readouterr().err
    assert main(["pretrain", str(DEMO), "domain=video"]) == 2
    assert "key 'domain': must be one of dna, audio" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEMO.read_text().replace("  codec: mulaw", "  codek: mulaw"))
    assert main(["pretrain", str(bad)]) == 2
    assert "bad.yaml: key 'data.codek'" in capsys.readouterr().err
