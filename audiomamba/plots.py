"""A PNG of clips: one row per clip, waveform on the left, log spectrogram on the right."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from .stack import audio_module  # noqa: E402

N_FFT = 512


def plot_clips(waves: list[torch.Tensor], sample_rate: int, path: str | Path,
               titles: list[str] | None = None) -> Path:
    """Draw each mono wave (num_samples,) float in [-1, 1]: time (s) against amplitude, and
    its spectrogram (512-point STFT, dB) in time (s) and frequency (kHz). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    spectrogram = audio_module("torchaudio.transforms").Spectrogram(n_fft=N_FFT, hop_length=N_FFT // 4)
    fig, axes = plt.subplots(len(waves), 2, figsize=(12, 2.2 * len(waves)), squeeze=False)
    for row, wave in enumerate(waves):
        wave = wave.detach().float().cpu()
        seconds = wave.shape[0] / sample_rate
        ax_wave, ax_spec = axes[row]
        ax_wave.plot(torch.arange(wave.shape[0]) / sample_rate, wave.numpy(), linewidth=0.4)
        ax_wave.set(xlim=(0, seconds), ylim=(-1, 1), ylabel="amplitude")
        # the STFT pads by reflection: a clip shorter than one window is zero-extended first
        padded = torch.nn.functional.pad(wave, (0, max(0, N_FFT + 1 - wave.shape[0])))
        power_db = 10 * torch.log10(spectrogram(padded) + 1e-10)
        ax_spec.imshow(power_db.numpy(), origin="lower", aspect="auto", cmap="magma",
                       extent=(0, padded.shape[0] / sample_rate, 0, sample_rate / 2000),
                       vmin=float(power_db.max()) - 80, vmax=float(power_db.max()))
        ax_spec.set(ylabel="kHz")
        if titles:
            ax_wave.set_title(titles[row], fontsize=9, loc="left")
    axes[-1][0].set_xlabel("seconds")
    axes[-1][1].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
