"""``mambaseq sc09-classifier CONFIG [key=value ...]``: train the SC09 digit classifier whose
logits and penultimate features score generated clips (``mambaseq evaluate``); writes
RUN/classifier.pt and prints its validation and test accuracy."""
from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field, replace

from mambaseq.audiomamba import check_audio_stack

from ..config import (OptimConfig, TrainerConfig, TrainingJobConfig, add_config_arguments,
                      load_config)
from ..data.audio_tokens import ClassifierDataConfig, SC09WavesDataModule
from ..training.digit_classifier import DigitClassifierModule
from ..training.run_folder import plan_run, start_run
from ..training.trainer import make_trainer, save_run_model


@dataclass
class SC09ClassifierConfig(TrainingJobConfig):
    """``mambaseq sc09-classifier``: the digit classifier behind FID / IS / mIS / AM."""

    data: ClassifierDataConfig = field(default_factory=ClassifierDataConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=3e-3, weight_decay=0.01,
                                                                    betas=[0.9, 0.999]))
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(run_name="sc09-classifier"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, "configs/audio/sc09_classifier.yaml",
                         "data.root=/data/sc09 trainer.max_steps=3000")


def run(args: argparse.Namespace) -> dict[str, float]:
    """Train, test, save. Returns validation and test accuracy."""
    check_audio_stack()
    cfg, resolved = load_config(SC09ClassifierConfig, args.config, args.overrides)
    tr = cfg.trainer
    plan = plan_run(replace(tr, resume=False), resolved)      # the job does not resume
    run_dir, plain = plan.dir, plan.config
    module = DigitClassifierModule(optim=asdict(cfg.optim), max_steps=tr.max_steps, run_config=plain)
    data = SC09WavesDataModule(cfg.data, seed=tr.seed)
    data.setup()
    trainer = make_trainer(tr, cfg.optim.grad_clip, run_dir, monitor=None)
    start_run(plan, resolved)
    trainer.fit(module, datamodule=data)
    val = trainer.validate(module, datamodule=data, verbose=False)[0]
    test = trainer.test(module, datamodule=data, verbose=False)[0]
    metrics = {"val_accuracy": val["val/accuracy"], "test_accuracy": test["test/accuracy"],
               "steps": trainer.global_step}
    saved = save_run_model(trainer, module.model.cpu(), run_dir,
                           {"run_config": plain, "metrics": metrics}, filename="classifier.pt")
    if saved is None:
        return metrics
    path, _ = saved
    print(f"[mambaseq] SC09 classifier: validation accuracy {metrics['val_accuracy']:.4f}, "
          f"test accuracy {metrics['test_accuracy']:.4f} after {trainer.global_step} steps")
    print(f"[mambaseq] classifier: {path}")
    return metrics
