"""Training: the run folder and Lightning Trainer, the LightningModules (language model,
sequence classifier, SC09 digit classifier, synthetic tasks), the optimiser, and the callbacks
(exact resume, non-finite guard, activation checkpointing); loading a trained model."""
