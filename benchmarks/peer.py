"""mamba_ssm, the speed and memory baseline of benchmarks/scan.py and benchmarks/training.py,
built from its unpacked source distribution on the GPU machine; nothing of it is committed here.

Set MAMBASEQ_PEER_DIR to a folder holding ``csrc/selective_scan`` and the ``mamba_ssm``
package. ``load_extension`` builds selective_scan_cuda there with torch's cpp_extension (cached
in MAMBASEQ_PEER_BUILD, default /tmp/mamba_peer_build; TORCH_CUDA_ARCH_LIST and MAX_JOBS are
read by torch; TORCH_CUDA_ARCH_LIST is set to the GPU's own architecture where unset) and
registers it as ``sys.modules["selective_scan_cuda"]``. ``peer_module`` then imports one of
mamba_ssm's modules without running ``mamba_ssm/__init__.py`` (which would import
Mamba2/Mamba3 code this benchmark does not use): the package is registered as a bare module
whose search path is the source folder. Optional packages the peer tries to import
(causal_conv1d, flash_attn) are left missing; its own code falls back where they are absent.

    python -m benchmarks.peer     # build only (start it early, in the background)
"""
from __future__ import annotations

import glob
import os
import sys
import time
import types
from typing import Callable

import torch

BUILD_DIR = "/tmp/mamba_peer_build"


def peer_dir() -> str | None:
    """MAMBASEQ_PEER_DIR when it holds csrc/selective_scan and mamba_ssm/, else None."""
    peer = os.environ.get("MAMBASEQ_PEER_DIR")
    if (not peer or not os.path.isdir(os.path.join(peer, "csrc", "selective_scan"))
            or not os.path.isdir(os.path.join(peer, "mamba_ssm"))):
        return None
    return peer


def load_extension(peer: str) -> types.ModuleType:
    """Build (or load from the build cache) mamba_ssm's selective_scan_cuda; concurrent calls
    on one build folder wait for each other (torch's build lock)."""
    if "selective_scan_cuda" in sys.modules:
        return sys.modules["selective_scan_cuda"]
    from torch.utils.cpp_extension import load
    src = os.path.join(peer, "csrc", "selective_scan")
    build = os.environ.get("MAMBASEQ_PEER_BUILD", BUILD_DIR)
    os.makedirs(build, exist_ok=True)
    # torch writes the architectures into the build's commands, and where the variable is
    # unset it adds PTX: a process without it finds changed commands and builds again
    # (minutes) what a build with TORCH_CUDA_ARCH_LIST=9.0 left; the likely cause of three
    # steps that printed nothing before their timeouts (issue 14, session 14, call 1)
    major, minor = torch.cuda.get_device_capability()
    os.environ.setdefault("TORCH_CUDA_ARCH_LIST", f"{major}.{minor}")
    started = time.time()
    module = load(
        name="selective_scan_cuda", build_directory=build, verbose=False,
        sources=sorted(glob.glob(os.path.join(src, "*.cpp")) + glob.glob(os.path.join(src, "*.cu"))),
        extra_include_paths=[src],
        extra_cflags=["-O3", "-std=c++17"],
        extra_cuda_cflags=["-O3", "-std=c++17", "-U__CUDA_NO_HALF_OPERATORS__",
                           "-U__CUDA_NO_HALF_CONVERSIONS__", "-U__CUDA_NO_BFLOAT16_OPERATORS__",
                           "-U__CUDA_NO_BFLOAT16_CONVERSIONS__",
                           "-U__CUDA_NO_BFLOAT162_OPERATORS__",
                           "-U__CUDA_NO_BFLOAT162_CONVERSIONS__", "--expt-relaxed-constexpr",
                           "--expt-extended-lambda", "--use_fast_math"])
    print(f"# mamba_ssm selective_scan_cuda ready in {time.time() - started:.0f} s", flush=True)
    sys.modules["selective_scan_cuda"] = module
    return module


def peer_module(peer: str, name: str) -> types.ModuleType:
    """``mamba_ssm.<name>`` imported from the peer's source, its package ``__init__`` skipped
    (selective_scan_cuda must be loaded first when the module needs it)."""
    import importlib
    if "mamba_ssm" not in sys.modules:
        package = types.ModuleType("mamba_ssm")
        package.__path__ = [os.path.join(peer, "mamba_ssm")]
        sys.modules["mamba_ssm"] = package
    return importlib.import_module(f"mamba_ssm.{name}")


def guarded_load(what: Callable[[str], object]) -> tuple[object | None, str]:
    """``what(peer_dir)`` on a CUDA machine with MAMBASEQ_PEER_DIR set: (result, "loaded"), or
    (None, the reason) when there is no peer, no GPU, or its build or import fails (a failed
    peer must never stop our own measurements)."""
    peer = peer_dir()
    if peer is None:
        return None, "MAMBASEQ_PEER_DIR unset or without csrc/selective_scan and mamba_ssm/"
    if not torch.cuda.is_available():
        return None, "no CUDA GPU"
    try:
        load_extension(peer)
        return what(peer), "loaded"
    except Exception as err:  # noqa: BLE001 - reported, and the benchmark goes on without it
        return None, f"build or import failed: {err!r}"


def load_selective_scan_fn() -> tuple[Callable | None, str]:
    """mamba_ssm's ``selective_scan_fn`` (or None) and a note saying why not."""
    return guarded_load(
        lambda peer: peer_module(peer, "ops.selective_scan_interface").selective_scan_fn)


def load_lm_head_model() -> tuple[tuple[type, type] | None, str]:
    """mamba_ssm's (``MambaLMHeadModel``, its ``MambaConfig``) (or None) and a note: whether
    causal_conv1d was importable, that is whether its Mamba block ran the fused
    ``mamba_inner_fn`` or its fallback (nn.Conv1d + SiLU, then ``selective_scan_fn``)."""
    def load(peer: str) -> tuple[type, type]:
        model = peer_module(peer, "models.mixer_seq_simple")
        return model.MambaLMHeadModel, peer_module(peer, "models.config_mamba").MambaConfig
    classes, note = guarded_load(load)
    if classes is not None:
        simple = sys.modules["mamba_ssm.modules.mamba_simple"]
        if simple.causal_conv1d_fn is None:
            note = ("causal_conv1d not importable: mamba_ssm's Mamba ran its fallback (nn.Conv1d "
                    "+ SiLU, x_proj, dt_proj, then selective_scan_fn), not the fused "
                    "mamba_inner_fn; RMSNorm and the residual add are its Triton layer_norm")
        else:
            note = "causal_conv1d importable: mamba_ssm's Mamba ran the fused mamba_inner_fn"
    return classes, note


def main() -> None:
    peer = peer_dir()
    if peer is None:
        print("benchmarks/peer.py: MAMBASEQ_PEER_DIR is unset or lacks csrc/selective_scan and "
              "mamba_ssm/", file=sys.stderr)
        sys.exit(2)
    load_extension(peer)


if __name__ == "__main__":
    main()
