"""Raw audio (torchaudio and soundfile are imported on first use, never by DNA work): mu-law / linear codecs, WAV/FLAC reading and writing, SC09 and folder datasets,
the SaShiMi-style U-Net of Mamba blocks (registered with core's model files on import), the
SC09 digit classifier and the sample-quality metrics, and waveform/spectrogram plots."""
from .classifier import DigitClassifier, load_classifier
from .codec import CODEC_KINDS, Codec, codec_from_name
from .datasets import (CLIP_SAMPLES, DIGITS, ClipTokens, EncodedAudio, RandomCrops, SC09Clips,
                       fit_length, sc09_split, split_files, tiled_crops)
from .io import SAMPLE_RATE, AudioFileError, audio_files, load_audio, save_wav
from .metrics import am_score, fid, inception_score, modified_inception_score, sample_scores
from .plots import plot_clips
from .stack import AudioStackError, check_audio_stack
from .unet import SaShiMiLM, UNetCache

__all__ = ["Codec", "CODEC_KINDS", "codec_from_name", "SAMPLE_RATE", "AudioFileError",
           "load_audio", "save_wav", "audio_files", "DIGITS", "CLIP_SAMPLES", "fit_length",
           "sc09_split", "SC09Clips", "ClipTokens", "split_files", "EncodedAudio", "RandomCrops",
           "tiled_crops", "SaShiMiLM", "UNetCache", "DigitClassifier", "load_classifier", "fid", "inception_score",
           "modified_inception_score", "am_score", "sample_scores", "plot_clips", "AudioStackError",
           "check_audio_stack"]
