"""Model directories that cannot become a MambaLM, and models that cannot be exported, are
refused with a message that names why; init_weights_from says which config keys differ.
No transformers needed: the directories are written by hand."""
import json

import pytest
import torch

from mambaseq.core import (MambaClassifier, MambaConfig, MambaLM, ModelFileError,
                           export_model, init_weights_from, load_model)

TINY = MambaConfig(d_model=16, n_layer=1, vocab_size=10, d_state=4)
SSM = {"d_model": 16, "n_layer": 1, "vocab_size": 10, "ssm_cfg": {"d_state": 4},
       "rms_norm": True, "residual_in_fp32": True, "fused_add_norm": True,
       "pad_vocab_size_multiple": 8}
HF = {"model_type": "mamba", "architectures": ["MambaForCausalLM"], "vocab_size": 16,
      "hidden_size": 16, "state_size": 4, "num_hidden_layers": 1}


def model_dir(tmp_path, config: dict, fmt: str = "mamba_ssm", weights: bool = True):
    """A directory of TINY's weights (exported) with ``config`` as its config.json."""
    directory = tmp_path / "m"
    export_model(MambaLM(TINY), directory, fmt)
    (directory / "config.json").write_text(json.dumps(config))
    if not weights:
        for file in directory.glob("*.bin"):
            file.unlink()
    return directory


@pytest.mark.parametrize("config,message", [
    ({**SSM, "rms_norm": False}, "LayerNorm \\(rms_norm: false"),
    ({**SSM, "ssm_cfg": {"layer": "Mamba2"}}, "Mamba-2 layers \\(ssm_cfg.layer 'Mamba2'\\)"),
    ({**SSM, "attn_layer_idx": [0], "attn_cfg": {"num_heads": 2}},
     "attention layers \\(attn_layer_idx \\[0\\]\\)"),
    ({**SSM, "d_intermediate": 64}, "MLP layers after the mixers \\(d_intermediate 64\\)"),
    ({**SSM, "bidirectional": True}, "unknown mamba_ssm config key\\(s\\) bidirectional"),
    ({**SSM, "ssm_cfg": {"headdim": 8}}, "unknown ssm_cfg key\\(s\\) headdim"),
    ({**HF, "model_type": "mamba2"}, "Mamba-2 layers \\(model_type 'mamba2'\\)"),
    ({**HF, "model_type": "jamba"}, "the architecture model_type 'jamba'"),
    ({**HF, "hidden_act": "gelu"}, "the activation hidden_act 'gelu'"),
    ({"hidden_size": 16}, "neither a Hugging Face config"),
])
def test_what_cannot_be_represented_is_named(tmp_path, config, message):
    with pytest.raises(ModelFileError, match=message):
        load_model(model_dir(tmp_path, config))


def test_missing_or_mismatched_files_are_named(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFileError, match="empty: no config.json"):
        load_model(tmp_path / "empty")
    with pytest.raises(ModelFileError, match="no weight file"):
        load_model(model_dir(tmp_path, SSM, weights=False))
    wider = tmp_path / "wider"
    export_model(MambaLM(TINY), wider, "mamba_ssm")
    (wider / "config.json").write_text(json.dumps({**SSM, "d_model": 32}))
    with pytest.raises(ModelFileError, match="weights do not match its config.json: "
                                             "backbone.embedding.weight is \\(16, 16\\), its "
                                             "config.json gives \\(16, 32\\)"):
        load_model(wider)
    index = tmp_path / "sharded"
    export_model(MambaLM(TINY), index, "hf")
    (index / "model.safetensors").rename(index / "part.safetensors")
    (index / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"a": "part.safetensors", "b": "gone.safetensors"}}))
    with pytest.raises(ModelFileError, match="names shard\\(s\\) that are not there: gone"):
        load_model(index)
    (index / "model.safetensors.index.json").unlink()
    (index / "pytorch_model.bin").write_text("not a pickle")
    with pytest.raises(ModelFileError, match="pytorch_model.bin: cannot be read as weights"):
        load_model(index)


def test_a_directory_holds_a_language_model(tmp_path):
    with pytest.raises(ModelFileError, match="holds a MambaLM, expected a MambaClassifier"):
        load_model(model_dir(tmp_path, SSM), expect=MambaClassifier)


def test_exports_that_cannot_be_held_are_refused(tmp_path):
    with pytest.raises(ModelFileError, match="LTI ablation"):
        export_model(MambaLM(MambaConfig(d_model=16, n_layer=1, selective=False)),
                     tmp_path / "lti", "hf")
    with pytest.raises(ModelFileError, match="norm_eps is 1e-06; mamba_ssm"):
        export_model(MambaLM(MambaConfig(d_model=16, n_layer=1, norm_eps=1e-6)),
                     tmp_path / "eps", "mamba_ssm")
    with pytest.raises(ModelFileError, match="a Linear has no counterpart"):
        export_model(torch.nn.Linear(2, 2), tmp_path / "linear", "hf")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(ModelFileError, match="full: exists and is not an empty directory"):
        export_model(MambaLM(TINY), tmp_path / "full", "hf")


def test_init_weights_from_names_the_differing_keys(tmp_path):
    source, _ = load_model(model_dir(tmp_path, SSM))
    target = MambaLM(MambaConfig(d_model=16, n_layer=2, vocab_size=10, d_state=8))
    with pytest.raises(ModelFileError, match="SRC: its model differs from the config's: "
                                             "model.n_layer is 2 in the config, 1 there; "
                                             "model.d_state is 8 in the config, 4 there"):
        init_weights_from(target, source, "SRC")
    target = MambaLM(TINY)
    init_weights_from(target, source, "SRC")
    for name, weight in source.state_dict().items():
        assert torch.equal(target.state_dict()[name], weight), name
