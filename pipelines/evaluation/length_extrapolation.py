"""Accuracy of a trained synthetic-task model at sequence lengths other than the trained one
(the paper's induction-heads extrapolation, Table 2)."""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from ..data.synthetic_tasks import TEST, SyntheticTask, task_length
from ..training.synthetic_model import answer_metrics


@torch.no_grad()
def accuracy_at_lengths(model: torch.nn.Module, task: str, lengths: list[int], vocab_size: int,
                        n_data: int, samples: int, tokens_per_batch: int, seed: int
                        ) -> list[dict[str, float | int]]:
    """For each length (the data's ``seq_len`` meaning), score ``samples`` TEST-stream samples
    with ``model`` (ids (batch, length) -> logits) in eval mode on its own device. Returns one
    row per length: length, samples, accuracy (answers right / answers), sequence_accuracy
    (samples with every answer right / samples), loss (nats per answer)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    rows = []
    for length in lengths:
        data = SyntheticTask(task, samples, length, vocab_size, seed, TEST, n_data)
        batch = max(1, tokens_per_batch // task_length(task, length, n_data))
        correct = answers = solved = 0
        loss_sum = 0.0
        for inputs, targets in DataLoader(data, batch_size=batch):
            m = answer_metrics(model(inputs.to(device)), targets.to(device))
            correct, answers = correct + int(m["correct"]), answers + int(m["answers"])
            solved += int(m["solved"])
            loss_sum += float(m["loss"]) * int(m["answers"])
        rows.append({"length": length, "samples": samples, "accuracy": correct / answers,
                     "sequence_accuracy": solved / samples, "loss": loss_sum / answers})
    model.train(was_training)
    return rows
