"""Every shipped DNA config passes the schema check of its job."""
from pathlib import Path

import pytest

from mambaseq.pipelines.config import load_config
from mambaseq.pipelines.domains import PretrainDNAConfig
from mambaseq.pipelines.jobs.finetune import FinetuneDNAConfig

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "dna"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_config_loads(path):
    schema = FinetuneDNAConfig if path.name.startswith(("great_apes", "species")) else PretrainDNAConfig
    cfg, _ = load_config(schema, path)
    assert cfg.model.vocab_size == 10
