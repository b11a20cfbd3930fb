"""Every shipped config passes the schema check of the job it is for (audio and DNA
configs whose data lives elsewhere are given a data path, as a user would)."""
import pytest

from mambaseq.pipelines.config import load_config
from mambaseq.pipelines.domains import PretrainAudioConfig, PretrainDNAConfig
from mambaseq.pipelines.jobs.finetune import FinetuneDNAConfig
from mambaseq.pipelines.jobs.scale import ScaleJobConfig
from mambaseq.pipelines.jobs.sc09_classifier import SC09ClassifierConfig
from mambaseq.pipelines.jobs.synthetic import SyntheticJobConfig
from tests.bundled import REPO

CONFIGS = REPO / "configs"


def schema_of(path):
    """(schema, overrides) of a shipped config, by its folder and name."""
    room, name = path.parent.name, path.name
    if room == "dna":
        return (FinetuneDNAConfig if name.startswith(("great_apes", "species"))
                else PretrainDNAConfig), []
    if room == "audio":
        if name == "sc09_classifier.yaml":
            return SC09ClassifierConfig, ["data.root=/data/sc09"]
        return PretrainAudioConfig, ([] if name == "demo.yaml" else ["data.root=/data/audio"])
    return {"synthetic": SyntheticJobConfig, "scale": ScaleJobConfig}[room], []


@pytest.mark.parametrize("path", sorted(CONFIGS.rglob("*.yaml")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_config_loads(path):
    schema, overrides = schema_of(path)
    cfg, _ = load_config(schema, path, overrides)
    if path.parent.name == "dna":
        assert cfg.model.vocab_size == 10
