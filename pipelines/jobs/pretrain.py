"""``mambaseq pretrain CONFIG [key=value ...]``: train a MambaLM on DNA windows with Lightning,
then write the run folder: config.yaml, checkpoints/, metrics, model.pt."""
from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from omegaconf import OmegaConf

from biomamba import DNATokenizer
from core import save_model

from ..config import ConfigFileError, PretrainDNAConfig, load_config, to_plain
from ..dna_data import DNAWindowsDataModule
from ..lm_module import LMModule


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="YAML job config, e.g. configs/dna/demo.yaml")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="config overrides, e.g. trainer.max_steps=500 model.d_model=128")


def run(args: argparse.Namespace) -> dict[str, float]:
    """Train, validate, save. Returns the final validation metrics."""
    cfg, resolved = load_config(PretrainDNAConfig, args.config, args.overrides)
    tokenizer = DNATokenizer()
    if cfg.model.vocab_size != tokenizer.vocab_size:
        raise ConfigFileError(f"{args.config}: key 'model.vocab_size' is {cfg.model.vocab_size}, "
                              f"the DNA tokenizer has {tokenizer.vocab_size} tokens")
    tr = cfg.trainer
    L.seed_everything(tr.seed, workers=True, verbose=False)
    run_dir = Path(tr.output_dir) / tr.run_name
    run_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(resolved, run_dir / "config.yaml")
    plain = to_plain(resolved)

    module = LMModule(model=cfg.model.to_dict(), optim=asdict(cfg.optim), max_steps=tr.max_steps,
                      run_config=plain)
    data = DNAWindowsDataModule(cfg.data, seed=tr.seed)
    checkpoints = ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="step{step}",
                                  auto_insert_metric_name=False, every_n_train_steps=tr.checkpoint_every_n_steps,
                                  save_last=True, save_top_k=1, monitor="val/loss")
    callbacks = [checkpoints] + ([RichProgressBar()] if tr.progress_bar else [])
    trainer = L.Trainer(
        max_steps=tr.max_steps, val_check_interval=tr.val_every_n_steps,
        check_val_every_n_epoch=None, log_every_n_steps=tr.log_every_n_steps,
        accelerator=tr.accelerator, devices=tr.devices, precision=tr.precision,
        gradient_clip_val=cfg.optim.grad_clip, callbacks=callbacks,
        logger=[CSVLogger(run_dir, name="", version="logs"),
                TensorBoardLogger(run_dir, name="", version="logs")],
        enable_progress_bar=tr.progress_bar, enable_model_summary=False, default_root_dir=run_dir)
    last = run_dir / "checkpoints" / "last.ckpt"
    resume_from = last if tr.resume and last.is_file() else None
    if resume_from:
        print(f"[mambaseq] resuming from {resume_from}")
    trainer.fit(module, datamodule=data, ckpt_path=resume_from, weights_only=True)
    final = trainer.validate(module, datamodule=data, verbose=False)[0]
    metrics = {"val_loss": final["val/loss"], "val_bits_per_base": final["val/bits_per_token"],
               "steps": trainer.global_step}
    n_params = sum(p.numel() for p in module.model.parameters())
    model_path = save_model(module.model, run_dir / "model.pt",
                            extra={"run_config": plain, "tokenizer": "dna-char",
                                   "metrics": metrics, "parameters": n_params})
    print(f"[mambaseq] {n_params:,} parameters, {trainer.global_step} steps of "
          f"{cfg.data.batch_size} x {cfg.data.seq_len} bases")
    print(f"[mambaseq] validation: {metrics['val_bits_per_base']:.4f} bits per base "
          f"({metrics['val_loss']:.4f} nats; uniform over ACGT = 2 bits)")
    print(f"[mambaseq] model: {model_path}   config: {run_dir / 'config.yaml'}")
    print(f"[mambaseq] sample from it: mambaseq generate --checkpoint {model_path}")
    return metrics
