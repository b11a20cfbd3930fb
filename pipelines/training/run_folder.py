"""The run folder ``output_dir/run_name`` of a training job, planned before it is written:
a launch checks everything first (``plan_run``: the checkpoint to resume from, and that the
saved config agrees with the new one), builds its data and model, and only then
``start_run`` writes the folder, so a launch that fails leaves an earlier run as it was."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from ..config import ConfigFileError, TrainerConfig, to_plain
from .resume import checkpoint_step

CONFIG_FILE = "config.yaml"
SHAPING_SECTIONS = ("domain", "model", "backbone", "classifier", "data", "sweep")
NOT_SHAPING = ("data.num_workers", "model.init_from", "classifier.pretrained")


@dataclass(frozen=True)
class RunPlan:
    """Where a launch will write (``dir``), the resolved config as plain Python (``config``)
    and the checkpoint it resumes from (None: a fresh start)."""

    dir: Path
    config: dict[str, Any]
    resume_from: Path | None


def plan_run(tr: TrainerConfig, resolved: DictConfig) -> RunPlan:
    """Seed everything and decide how the run starts, writing nothing. With
    ``trainer.resume`` and a checkpoint in the folder, resuming needs a saved config that
    agrees with ``resolved`` on every key that shapes the model and the data (else
    ``ConfigFileError`` naming them and the ways out), and the newest readable checkpoint
    (``last.ckpt``, or an older one when it is unreadable, saying so)."""
    L.seed_everything(tr.seed, workers=True, verbose=False)
    run_dir = Path(tr.output_dir) / tr.run_name
    plain = to_plain(resolved)
    resume_from = None
    if tr.resume and any((run_dir / "checkpoints").glob("*.ckpt")):
        saved = run_dir / CONFIG_FILE
        if saved.is_file():
            check_same_shape(to_plain(OmegaConf.load(saved)), plain, run_dir)
        resume_from = readable_checkpoint(run_dir)
    return RunPlan(run_dir, plain, resume_from)


def start_run(plan: RunPlan, resolved: DictConfig) -> None:
    """Create the run folder and save the resolved config in it (the first process only);
    call it once every check has passed."""
    plan.dir.mkdir(parents=True, exist_ok=True)
    if rank_zero_only.rank == 0:
        OmegaConf.save(resolved, plan.dir / CONFIG_FILE)


def check_same_shape(saved: dict[str, Any], new: dict[str, Any], run_dir: Path) -> None:
    """Raise ``ConfigFileError`` listing the keys (``model.d_model: 64 -> 32``) on which the
    saved and the new config differ among those that shape the model and the data."""
    old_keys, new_keys = _flatten(saved), _flatten(new)
    differing = [f"{k}: {old_keys.get(k)!r} -> {new_keys.get(k)!r}"
                 for k in sorted(set(old_keys) | set(new_keys))
                 if k.split(".")[0] in SHAPING_SECTIONS and not k.startswith(NOT_SHAPING)
                 and old_keys.get(k) != new_keys.get(k)]
    if differing:
        raise ConfigFileError(f"{run_dir} holds a run with another config ({'; '.join(differing)}),"
                              f" so it cannot resume; start afresh there with trainer.resume="
                              f"false, or give the new run its own trainer.run_name")


def readable_checkpoint(run_dir: Path) -> Path:
    """``checkpoints/last.ckpt``, or when it cannot be read the readable checkpoint of the
    highest step (printing which); ``ConfigFileError`` when none can be read."""
    folder = run_dir / "checkpoints"
    candidates = [folder / "last.ckpt"] + sorted(p for p in folder.glob("*.ckpt")
                                                 if p.name != "last.ckpt")
    steps, broken = {}, []
    for path in candidates:
        if not path.is_file():
            continue
        try:
            steps[path] = checkpoint_step(path)
        except Exception:            # truncated or not a checkpoint: any reader error
            broken.append(path.name)
    if not steps:
        raise ConfigFileError(f"{folder}: no checkpoint can be read ({', '.join(broken)}); start "
                              f"afresh with trainer.resume=false or a new trainer.run_name")
    last = folder / "last.ckpt"
    if last in steps:
        return last
    best = max(steps, key=lambda p: steps[p])
    if rank_zero_only.rank == 0:
        print(f"[mambaseq] {', '.join(broken)} cannot be read; resuming from {best.name} "
              f"(step {steps[best]}) instead", file=sys.stderr)
    return best


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat.update(_flatten(value, f"{prefix}{key}." if isinstance(value, dict) else
                             f"{prefix}{key}"))
    return flat
