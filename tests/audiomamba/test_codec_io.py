"""Codecs (mu-law and linear round trips), audio reading (mono mix-down, resampling), WAV
writing, and errors that name the file."""
import math

import pytest
import soundfile as sf
import torch

from mambaseq.audiomamba import (AudioFileError, Codec, audio_files, codec_from_name, load_audio,
                                 save_wav)
from tests.audiomamba.synth import tone


def test_mulaw_round_trip_error_bound():
    codec = Codec("mulaw", 8)
    x = torch.linspace(-1, 1, 20001)
    ids = codec.encode(x)
    assert ids.dtype == torch.int64 and ids.min() == 0 and ids.max() == 255
    assert len(ids.unique()) == 256 and codec.silence_id == 128
    err = (codec.decode(ids) - x).abs()
    mu = 255
    # half a step of the companded code (1/mu) moves x by at most ((1+mu)^(1/mu) - 1)(|x| + 1/mu)
    bound = ((1 + mu) ** (1 / mu) - 1) * (x.abs() + 1 / mu)
    assert torch.all(err <= bound + 1e-6)
    assert err[x.abs() < 0.01].max() < 0.0003          # fine steps near silence
    assert err.max() > 0.005                            # coarse near full scale: the bound is tight


def test_linear_round_trip_and_names():
    codec = Codec("linear", 8)
    x = torch.linspace(-1, 1, 10001)
    assert (codec.decode(codec.encode(x)) - x).abs().max() <= 1 / 255 + 1e-6
    assert codec.encode(torch.tensor([-3.0, 3.0])).tolist() == [0, 255]      # clipped
    assert codec_from_name(codec.name) == codec and codec.name == "audio-linear-256"
    with pytest.raises(ValueError, match=r"\[0, 256\)"):
        codec.decode(torch.tensor([256]))
    with pytest.raises(ValueError, match="codec must be one of"):
        Codec("alaw")


def test_mono_mixdown_and_resampling(tmp_path):
    rate = 44100
    left = tone(440, 1.0, rate, amplitude=0.8)
    stereo = torch.stack([left, torch.zeros_like(left)], dim=1)         # (frames, 2)
    sf.write(tmp_path / "stereo.flac", stereo.numpy(), rate, subtype="PCM_16")
    wave = load_audio(tmp_path / "stereo.flac")
    assert wave.dtype == torch.float32 and wave.shape == (16000,)
    spectrum = torch.fft.rfft(wave).abs()
    assert abs(int(spectrum.argmax()) - 440) <= 1                        # 1 Hz bins over 1 s
    rms = wave[1000:-1000].square().mean().sqrt()
    assert abs(float(rms) - 0.4 / math.sqrt(2)) < 0.01                  # mean of 0.8 sin and 0
    sf.write(tmp_path / "low.wav", tone(1000, 0.5, 8000).numpy(), 8000)
    up = load_audio(tmp_path / "low.wav")
    assert up.shape == (8000,) and abs(int(torch.fft.rfft(up).abs().argmax()) - 500) <= 1


def test_save_wav_writes_16k_pcm16(tmp_path):
    wave = tone(300, 0.25)
    path = save_wav(tmp_path / "a" / "clip.wav", wave)
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.frames, info.subtype, info.format) == \
        (16000, 1, 4000, "PCM_16", "WAV")
    assert (load_audio(path) - wave).abs().max() < 1e-4


def test_bad_files_name_the_file(tmp_path):
    with pytest.raises(AudioFileError, match="missing.wav: no such audio file"):
        load_audio(tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"RIFF not really a wave file")
    with pytest.raises(AudioFileError, match="junk.wav: cannot be read as audio"):
        load_audio(tmp_path / "junk.wav")
    sf.write(tmp_path / "empty.wav", torch.zeros(0).numpy(), 16000)
    with pytest.raises(AudioFileError, match="empty.wav: holds no audio samples"):
        load_audio(tmp_path / "empty.wav")
    (tmp_path / "none").mkdir()
    with pytest.raises(AudioFileError, match="none: holds no .wav or .flac files"):
        audio_files(tmp_path / "none")


def test_truncated_wav_is_refused_with_its_name(tmp_path):
    path = save_wav(tmp_path / "clip.wav", torch.zeros(1000))
    truncated = tmp_path / "cut.wav"
    truncated.write_bytes(path.read_bytes()[:800])
    assert load_audio(path).shape == (1000,)
    with pytest.raises(AudioFileError, match=r"cut.wav: truncated WAV: its header declares 2000"):
        load_audio(truncated)
