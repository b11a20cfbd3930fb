"""Silence, one by one, the messages of the libraries under the jobs that a user cannot act
on; every other warning and message still shows."""
from __future__ import annotations

import logging
import warnings

from lightning.pytorch.callbacks import RichProgressBar

LIGHTNING_RANK_ZERO_LOGGER = "lightning.pytorch.utilities.rank_zero"
LITLOGGER_TIP = "💡 Tip: For seamless cloud logging"


class _DropLitLoggerTip(logging.Filter):
    """Drops Lightning's advertisement for its cloud logger, printed by every Trainer."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(LITLOGGER_TIP)


def silence_library_noise() -> None:
    """Install the filters (idempotent): Lightning's litlogger tip, and the deprecation
    warning that Lightning's own pytree helper raises through torch (``LeafSpec``)."""
    logger = logging.getLogger(LIGHTNING_RANK_ZERO_LOGGER)
    if not any(isinstance(f, _DropLitLoggerTip) for f in logger.filters):
        logger.addFilter(_DropLitLoggerTip())
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
                            module=r"lightning\.pytorch\.utilities\._pytree")


class StepProgressBar(RichProgressBar):
    """Rich's bar for step-limited runs: the epoch's number without Lightning's
    ``/max_epochs - 1`` (which reads ``0/-2`` when the run is bounded by steps)."""

    def _get_train_description(self, current_epoch: int) -> str:
        return f"{f'Epoch {current_epoch}':{len(self.validation_description)}}"
