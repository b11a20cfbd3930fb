"""``mambaseq pretrain CONFIG [key=value ...]``: train a language model on DNA windows or audio
waveforms (the config's ``domain``: dna, the default, or audio) with Lightning, then write the
run folder: config.yaml, checkpoints/, metrics, model.pt. ``model.init_from=PATH`` starts from
the weights of a model file or a Hugging Face / mamba_ssm model directory."""
from __future__ import annotations

import argparse
from dataclasses import asdict

import torch

from mambaseq.core import init_weights_from

from ..config import ConfigFileError, add_config_arguments, load_config
from ..domains import config_domain
from ..training.language_model import LMModule
from ..training.trained_model import load_trained_model
from ..training.run_folder import plan_run, start_run
from ..training.trainer import fit, make_trainer, save_run_model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, "configs/dna/demo.yaml or configs/audio/demo.yaml",
                         "trainer.max_steps=500 model.d_model=128")


def run(args: argparse.Namespace) -> dict[str, float]:
    """Train, validate, save (the model file and messages from the first process only).
    Returns the final validation metrics."""
    domain = config_domain(args.config, args.overrides)
    cfg, resolved = load_config(domain.schema, args.config, args.overrides)
    vocab = domain.vocab_size(cfg)
    if cfg.model.vocab_size != vocab:
        raise ConfigFileError(f"{args.config}: key 'model.vocab_size' is {cfg.model.vocab_size}, "
                              f"the {domain.name} tokens number {vocab}")
    tr = cfg.trainer
    plan = plan_run(tr, resolved)
    run_dir, plain = plan.dir, plan.config

    module = LMModule(model=cfg.model.model_config().to_dict(), optim=asdict(cfg.optim),
                      max_steps=tr.max_steps, run_config=plain, backbone=domain.backbone(cfg),
                      activation_checkpointing=tr.activation_checkpointing,
                      recompute_mixer_core=tr.recompute_mixer_core)
    if cfg.model.init_from is not None:
        source, _ = load_trained_model(cfg.model.init_from, expect=None)
        init_weights_from(module.model, source, cfg.model.init_from)
        print(f"[mambaseq] initial weights from {cfg.model.init_from}")
    data = domain.make_data(cfg, tr.seed)
    data.setup("fit")
    trainer = make_trainer(tr, cfg.optim.grad_clip, run_dir, monitor="val/loss", data=data,
                           resume_from=plan.resume_from)
    start_run(plan, resolved)
    fit(trainer, module, data, plan.resume_from)
    final = trainer.validate(module, datamodule=data, verbose=False)[0]
    unit = domain.unit
    metrics = {"val_loss": final["val/loss"], f"val_bits_per_{unit}": final["val/bits_per_token"],
               "steps": trainer.global_step}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        metrics["peak_gpu_gib"] = torch.cuda.max_memory_allocated() / 2**30
    saved = save_run_model(trainer, module.model, run_dir,
                           {"run_config": plain, "domain": domain.name,
                            "tokenizer": domain.tokenizer(cfg), "metrics": metrics})
    if saved is None:
        return metrics
    model_path, n_params = saved
    print(f"[mambaseq] {n_params:,} parameters ({type(module.model).__name__}), "
          f"{trainer.global_step} steps of {cfg.data.batch_size} x {cfg.data.seq_len} {unit}s")
    print(f"[mambaseq] validation: {metrics[f'val_bits_per_{unit}']:.4f} bits per {unit} "
          f"({metrics['val_loss']:.4f} nats; {domain.uniform_note(cfg)})")
    if "peak_gpu_gib" in metrics:
        print(f"[mambaseq] peak GPU memory: {metrics['peak_gpu_gib']:.2f} GiB allocated "
              f"(this process's GPU, training and validation)")
    print(f"[mambaseq] model: {model_path}   config: {run_dir / 'config.yaml'}")
    print(f"[mambaseq] sample from it: mambaseq generate --checkpoint {model_path}")
    return metrics
