"""``mambaseq synthetic CONFIG [key=value ...]``: train a Mamba language model on one of the
paper's diagnostic tasks (selective copying, induction heads; ``data.task``), report its
accuracy at the answer positions, then test it at the lengths of ``eval.lengths`` (longer
than trained: length extrapolation). ``model.selective=false`` trains the LTI ablation.

Run folder: config.yaml, checkpoints/, logs/, model.pt, and with eval.lengths
length_eval.csv (length, samples, accuracy, sequence_accuracy, loss) and length_eval.png."""
from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field
from typing import Any

from mambaseq.core import ConfigError, MambaConfig

from ..config import ConfigFileError, TrainingJobConfig, add_config_arguments, load_config
from ..data.synthetic_tasks import (SyntheticDataConfig, SyntheticDataModule, chance_accuracy,
                                    check_task)
from ..evaluation.length_extrapolation import accuracy_at_lengths
from ..evaluation.reports import line_plot, markdown_table, write_csv
from ..training.synthetic_model import SyntheticModule
from ..training.run_folder import plan_run, start_run
from ..training.trainer import fit, make_trainer, save_run_model


@dataclass
class LengthEvalConfig:
    """After training, test accuracy at each of ``lengths`` (the data's seq_len meaning) on
    ``samples`` fresh samples, ``max(1, tokens_per_batch // length)`` sequences a batch."""

    lengths: list[int] = field(default_factory=list)
    samples: int = 256
    tokens_per_batch: int = 65536

    def __post_init__(self) -> None:
        if self.samples < 1 or self.tokens_per_batch < 1 or any(n < 4 for n in self.lengths):
            raise ConfigError(f"eval.samples and eval.tokens_per_batch must be positive and every "
                              f"eval.lengths entry >= 4, got samples={self.samples}, "
                              f"tokens_per_batch={self.tokens_per_batch}, lengths={self.lengths}")


@dataclass
class SyntheticJobConfig(TrainingJobConfig):
    """``mambaseq synthetic``: train a MambaLM on one diagnostic task, report its accuracy at
    the answer positions, then at every ``eval.lengths``."""

    model: MambaConfig = field(default_factory=MambaConfig)
    data: SyntheticDataConfig = field(default_factory=SyntheticDataConfig)
    eval: LengthEvalConfig = field(default_factory=LengthEvalConfig)

    def __post_init__(self) -> None:
        for length in self.eval.lengths:
            try:
                check_task(self.data.task, length, self.data.vocab_size, self.data.n_data)
            except ValueError as err:
                raise ConfigError(f"eval.lengths entry {length}: {err}") from err


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, "configs/synthetic/induction_heads.yaml",
                         "data.seq_len=64 model.selective=false 'eval.lengths=[64,128]'")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train, validate, test at eval.lengths, save. Returns the final validation metrics
    (and the length test's rows under "length_eval")."""
    cfg, resolved = load_config(SyntheticJobConfig, args.config, args.overrides)
    d = cfg.data
    if cfg.model.vocab_size != d.vocab_size:
        raise ConfigFileError(f"{args.config}: key 'model.vocab_size' is {cfg.model.vocab_size}, "
                              f"the task's tokens (data.vocab_size) number {d.vocab_size}")
    tr = cfg.trainer
    plan = plan_run(tr, resolved)
    run_dir, plain = plan.dir, plan.config
    module = SyntheticModule(model=cfg.model.to_dict(), optim=asdict(cfg.optim),
                             max_steps=tr.max_steps, run_config=plain)
    data = SyntheticDataModule(d.task, d.seq_len, d.vocab_size, d.n_data, d.batch_size,
                               train_samples=tr.max_steps * d.batch_size,
                               val_samples=d.val_samples, seed=tr.seed, num_workers=d.num_workers)
    trainer = make_trainer(tr, cfg.optim.grad_clip, run_dir, monitor="val/accuracy", mode="max",
                           data=data, resume_from=plan.resume_from)
    start_run(plan, resolved)
    fit(trainer, module, data, plan.resume_from)
    final = trainer.validate(module, datamodule=data, verbose=False)[0]
    metrics = {"val_loss": final["val/loss"], "val_accuracy": final["val/accuracy"],
               "val_sequence_accuracy": final["val/sequence_accuracy"], "steps": trainer.global_step}
    kind = "selective" if cfg.model.selective else "LTI (non-selective)"
    print(f"[mambaseq] {d.task}, {kind} model, {trainer.global_step} steps of {d.batch_size} "
          f"x {d.seq_len}: accuracy {metrics['val_accuracy']:.4f}, sequences solved "
          f"{metrics['val_sequence_accuracy']:.4f} ({d.val_samples} validation samples; "
          f"chance {chance_accuracy(d.task, d.vocab_size):.4f})")

    if cfg.eval.lengths:
        model = module.model.to(trainer.strategy.root_device)
        rows = accuracy_at_lengths(model, d.task, list(cfg.eval.lengths), d.vocab_size, d.n_data,
                                   cfg.eval.samples, cfg.eval.tokens_per_batch, tr.seed)
        write_csv(run_dir / "length_eval.csv", rows)
        line_plot(run_dir / "length_eval.png",
                  {kind: ([r["length"] for r in rows], [r["accuracy"] for r in rows])},
                  xlabel="test sequence length", ylabel="accuracy",
                  title=f"{d.task}: trained at {d.seq_len}", vline=(d.seq_len, "trained length"))
        metrics["length_eval"] = rows
        print(markdown_table(rows))
        print(f"[mambaseq] length test: {run_dir / 'length_eval.csv'}, {run_dir / 'length_eval.png'}")

    saved = save_run_model(trainer, module.model, run_dir,
                           {"run_config": plain, "task": d.task, "metrics": metrics})
    if saved is None:
        return metrics
    model_path, n_params = saved
    print(f"[mambaseq] {n_params:,} parameters; model: {model_path}   config: {run_dir / 'config.yaml'}")
    return metrics
