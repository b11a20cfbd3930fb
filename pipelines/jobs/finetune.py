"""``mambaseq finetune CONFIG [key=value ...]``: train a DNA sequence classifier on species
windows (one FASTA per species), from scratch or from a pretrained language model's backbone,
then write the run folder: config.yaml, checkpoints/, metrics, confusion matrix (CSV, PNG),
metrics.json and model.pt."""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Optional

from omegaconf import OmegaConf

from mambaseq.biomamba import DNATokenizer
from mambaseq.biomamba.classification_metrics import write_confusion_matrix
from mambaseq.core import BIDIRECTIONAL_POOLINGS, POOLINGS, ConfigError, MambaConfig

from ..config import ConfigFileError, TrainingJobConfig, add_config_arguments, load_config
from ..data.species_windows import SpeciesDataConfig, SpeciesDataModule
from ..training.sequence_classifier import SequenceClassifierModule
from ..training.trained_model import load_trained_model
from ..training.run_folder import plan_run, start_run
from ..training.trainer import fit, make_trainer, save_run_model

CLASSIFIER_ARCHITECTURES = ("causal", "bidirectional", "rc_equivariant")


@dataclass
class ClassifierConfig:
    """The classification model around the backbone: ``architecture`` "causal" (MambaClassifier),
    "bidirectional" (BidirectionalClassifier) or "rc_equivariant" (bidirectional, and the same
    prediction on both strands); ``pretrained``: a language model (model.pt or .ckpt of
    ``mambaseq pretrain``, or a Hugging Face / mamba_ssm model directory) whose backbone
    weights, and model shape, start the classifier."""

    architecture: str = "causal"
    pooling: str = "mean"                # mean | max (| last, causal only)
    pretrained: Optional[str] = None

    def __post_init__(self) -> None:
        if self.architecture not in CLASSIFIER_ARCHITECTURES:
            raise ConfigError(f"classifier.architecture must be one of {CLASSIFIER_ARCHITECTURES}, "
                              f"got {self.architecture!r}")
        allowed = POOLINGS if self.architecture == "causal" else BIDIRECTIONAL_POOLINGS
        if self.pooling not in allowed:
            raise ConfigError(f"classifier.pooling must be one of {allowed} for architecture "
                              f"{self.architecture!r}, got {self.pooling!r}")


@dataclass
class FinetuneDNAConfig(TrainingJobConfig):
    """``mambaseq finetune``: a DNA sequence classifier on species windows, from scratch or
    from a pretrained language model."""

    model: MambaConfig = field(default_factory=MambaConfig)
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    data: SpeciesDataConfig = field(default_factory=SpeciesDataConfig)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, "configs/dna/species_demo.yaml",
                         "data.seq_len=16384 classifier.pretrained=runs/dna-demo/model.pt")


def classifier_spec(architecture: str, pooling: str, num_classes: int,
                    tokenizer: DNATokenizer) -> tuple[str, dict]:
    """(model class name, its constructor kwargs) for a ``classifier.architecture``; the
    RC-equivariant one gets the DNA complement map as its token involution."""
    if architecture == "causal":
        return "MambaClassifier", {"num_classes": num_classes, "pooling": pooling}
    involution = tokenizer.complement_map if architecture == "rc_equivariant" else None
    return "BidirectionalClassifier", {"num_classes": num_classes, "pooling": pooling,
                                       "token_involution": involution}


def run(args: argparse.Namespace) -> dict[str, float]:
    """Train, validate, save (files and messages from the first process only). Returns the
    final validation metrics (empty in the other processes)."""
    cfg, resolved = load_config(FinetuneDNAConfig, args.config, args.overrides)
    tokenizer = DNATokenizer()
    backbone_weights = None
    if cfg.classifier.pretrained is not None:
        lm, _ = load_trained_model(cfg.classifier.pretrained)
        cfg.model = lm.config
        resolved.model = OmegaConf.structured(lm.config)
        backbone_weights = lm.backbone.state_dict()
        print(f"[mambaseq] backbone and model shape from {cfg.classifier.pretrained} "
              f"(d_model={lm.config.d_model}, n_layer={lm.config.n_layer})")
    if cfg.model.vocab_size != tokenizer.vocab_size:
        raise ConfigFileError(f"{args.config}: key 'model.vocab_size' is {cfg.model.vocab_size}, "
                              f"the DNA tokenizer has {tokenizer.vocab_size} tokens")
    tr = cfg.trainer
    plan = plan_run(tr, resolved)
    run_dir, plain = plan.dir, plan.config

    data = SpeciesDataModule(cfg.data, seed=tr.seed)
    data.setup()
    model_class, model_kwargs = classifier_spec(cfg.classifier.architecture, cfg.classifier.pooling,
                                                len(data.classes), tokenizer)
    module = SequenceClassifierModule(model_class, cfg.model.to_dict(), model_kwargs, asdict(cfg.optim),
                              tr.max_steps, data.classes, run_config=plain,
                              activation_checkpointing=tr.activation_checkpointing,
                              recompute_mixer_core=tr.recompute_mixer_core)
    if backbone_weights is not None:
        module.model.backbone.load_state_dict(backbone_weights, strict=True)
    trainer = make_trainer(tr, cfg.optim.grad_clip, run_dir, monitor="val/accuracy", mode="max",
                           data=data, resume_from=plan.resume_from)
    start_run(plan, resolved)
    started = time.perf_counter()
    fit(trainer, module, data, plan.resume_from)
    train_seconds = time.perf_counter() - started
    final = trainer.validate(module, datamodule=data, verbose=False)[0]
    if not trainer.is_global_zero:
        return {}
    metrics = {"val_accuracy": final["val/accuracy"], "val_f1_macro": final["val/f1_macro"],
               "val_loss": final["val/loss"], "chance": 1 / len(data.classes),
               "steps": trainer.global_step, "train_seconds": round(train_seconds, 1),
               "window": cfg.data.seq_len}
    write_confusion_matrix(module.confusion, data.classes, run_dir,
                           title=f"{tr.run_name}: accuracy {metrics['val_accuracy']:.3f}")
    model_path, n_params = save_run_model(
        trainer, module.model, run_dir, {"run_config": plain, "tokenizer": "dna-char",
                                         "classes": data.classes, "window": cfg.data.seq_len,
                                         "metrics": metrics})
    (run_dir / "metrics.json").write_text(json.dumps({**metrics, "parameters": n_params},
                                                     indent=2) + "\n")
    print(f"[mambaseq] {n_params:,} parameters ({model_class}, {cfg.classifier.architecture}), "
          f"{trainer.global_step} steps of {cfg.data.batch_size} x {cfg.data.seq_len} bases "
          f"in {train_seconds:.0f} s")
    print(f"[mambaseq] validation on {len(data.val_windows)} windows: accuracy "
          f"{metrics['val_accuracy']:.4f}, macro-F1 {metrics['val_f1_macro']:.4f} "
          f"(chance {metrics['chance']:.4f}; classes {', '.join(data.classes)})")
    print(f"[mambaseq] model: {model_path}   confusion matrix: {run_dir / 'confusion_matrix.png'}")
    print(f"[mambaseq] classify with it: mambaseq classify --checkpoint {model_path} --fasta FASTA")
    return metrics
