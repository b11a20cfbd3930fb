"""DNA work never imports the audio stack, and shipped configs work from any folder: with
torchaudio and soundfile unimportable, ``mambaseq --help`` and a 2-step DNA pretrain of the
shipped demo config, run from a folder outside the repository, succeed; an audio job fails
with one line that says what to install, exit code 2, and writes nothing."""
import subprocess
import sys
from pathlib import Path

from tests.bundled import REPO

# Importing a name whose sys.modules entry is None raises ImportError: as if not installed.
BLOCK_AUDIO = ("import sys; sys.modules['torchaudio'] = None; sys.modules['soundfile'] = None; "
               "from mambaseq.pipelines.cli import main; sys.exit(main(sys.argv[1:]))")


def mambaseq_without_audio(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK_AUDIO, *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_help_and_dna_pretrain_from_another_folder(tmp_path):
    done = mambaseq_without_audio(tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    assert "pretrain" in done.stdout and "generate" in done.stdout

    done = mambaseq_without_audio(tmp_path, "pretrain", str(REPO / "configs" / "dna" / "demo.yaml"),
                                  "trainer.max_steps=2", "trainer.progress_bar=false",
                                  "data.max_val_windows=4")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "runs" / "dna-demo" / "model.pt").is_file()
    assert "bits per base" in done.stdout


def test_audio_job_names_what_to_install(tmp_path):
    done = mambaseq_without_audio(tmp_path, "pretrain", str(REPO / "configs" / "audio" / "demo.yaml"),
                                  "trainer.max_steps=2")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mambaseq pretrain: error:"), done.stderr
    assert "pip install 'torchaudio==" in lines[0]
    assert not (tmp_path / "runs").exists()
