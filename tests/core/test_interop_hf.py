"""Model directories of the Mamba ecosystem against an implementation nobody here wrote:
transformers' MambaForCausalLM. Tiny models are saved with save_pretrained and loaded here,
or exported here and loaded there; mamba_ssm directories are written exactly as its
MambaLMHeadModel.save_pretrained does (its MambaConfig fields as config.json, its state dict
as pytorch_model.bin) from a transformers model's weights, which mamba_ssm's model computes
alike. Logits must agree within 1e-4 (float32, CPU), forward and step by step."""
import json
import math

import pytest
import torch

from mambaseq.core import (BidirectionalClassifier, MambaClassifier, MambaConfig, MambaLM,
                           export_model, load_model)
from mambaseq.core.interop import as_mamba_ssm

transformers = pytest.importorskip("transformers")

TOLERANCE = 1e-4
CONFIGS = {   # the default shape, tied; and every switch the formats have, untied
    "tied": dict(vocab_size=13, hidden_size=16, state_size=4, num_hidden_layers=2,
                 time_step_rank=3),
    "untied": dict(vocab_size=24, hidden_size=24, state_size=8, num_hidden_layers=3,
                   expand=3, conv_kernel=3, use_bias=True, use_conv_bias=False,
                   layer_norm_epsilon=1e-6, tie_word_embeddings=False),
}


def tiny_hf(name: str, seed: int = 0, **changes):
    """A transformers MambaForCausalLM of ``CONFIGS[name]`` (with ``changes``) whose every
    weight is moved off its initial value (so a swapped or transposed tensor cannot go
    unnoticed)."""
    torch.manual_seed(seed)
    config = transformers.MambaConfig(**{**CONFIGS[name], **changes})
    model = transformers.MambaForCausalLM(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return model


def load_model_from_hf(name: str, tmp_path, **changes) -> tuple[MambaLM, dict]:
    """A MambaLM read from a transformers model saved with save_pretrained."""
    tiny_hf(name, seed=2, **changes).save_pretrained(tmp_path / "src")
    return load_model(tmp_path / "src")


@torch.no_grad()
def assert_same_logits(hf_model, ours: MambaLM, vocab: int, length: int = 20) -> float:
    """Our forward and our step-by-step decoding against transformers' forward, on the real
    tokens' logits; returns the largest difference."""
    ids = torch.randint(0, vocab, (2, length), generator=torch.Generator().manual_seed(1))
    reference = hf_model(ids).logits[..., :vocab]
    cache = ours.allocate_cache(2)
    stepped = torch.stack([ours.step(ids[:, t], cache) for t in range(length)], dim=1)
    worst = max((ours(ids)[..., :vocab] - reference).abs().max().item(),
                (stepped[..., :vocab] - reference).abs().max().item())
    assert worst < TOLERANCE
    return worst


def write_mamba_ssm_dir(hf_model, directory, pad_multiple: int = 8) -> None:
    """What mamba_ssm's MambaLMHeadModel.save_pretrained writes for the model of these
    weights: config.json = its MambaConfig's fields, pytorch_model.bin = its state dict
    (names of mixer_seq_simple.py: backbone.embedding, padded rows, lm_head in it)."""
    c = hf_model.config
    vocab = c.vocab_size
    rows = math.ceil(vocab / pad_multiple) * pad_multiple
    state = {k.replace("backbone.embeddings.", "backbone.embedding."): v.clone()
             for k, v in hf_model.state_dict().items() if k != "lm_head.weight"}
    state["backbone.embedding.weight"] = torch.cat(
        [state["backbone.embedding.weight"], torch.randn(rows - vocab, c.hidden_size)])
    state["lm_head.weight"] = state["backbone.embedding.weight"]    # tied: one tensor
    config = {"d_model": c.hidden_size, "d_intermediate": 0, "n_layer": c.num_hidden_layers,
              "vocab_size": vocab,
              "ssm_cfg": {"d_state": c.state_size, "d_conv": c.conv_kernel, "expand": c.expand,
                          "dt_rank": c.time_step_rank, "conv_bias": c.use_conv_bias,
                          "bias": c.use_bias},
              "attn_layer_idx": [], "attn_cfg": {}, "rms_norm": True, "residual_in_fp32": True,
              "fused_add_norm": True, "pad_vocab_size_multiple": pad_multiple,
              "tie_embeddings": True}
    directory.mkdir()
    torch.save(state, directory / "pytorch_model.bin")
    (directory / "config.json").write_text(json.dumps(config, indent=4))


def mamba_ssm_state_shapes(config: dict) -> dict[str, tuple[int, ...]]:
    """The state dict MambaLMHeadModel(MambaConfig(**config)) has, from mamba_ssm's source:
    models/mixer_seq_simple.py (embedding, layers.N.{norm, mixer}, norm_f, lm_head; the
    vocabulary padded), modules/mamba_simple.py (the Mamba mixer's parameters) and
    ops/triton/layer_norm.py (RMSNorm: weight, no bias). Mamba1 layers without MLP."""
    d, ssm = config["d_model"], config["ssm_cfg"]
    inner, n, width = ssm["expand"] * d, ssm["d_state"], ssm["d_conv"]
    rank = math.ceil(d / 16) if ssm.get("dt_rank", "auto") == "auto" else ssm["dt_rank"]
    multiple = config["pad_vocab_size_multiple"]
    rows = math.ceil(config["vocab_size"] / multiple) * multiple
    shapes = {"backbone.embedding.weight": (rows, d), "backbone.norm_f.weight": (d,),
              "lm_head.weight": (rows, d)}
    for i in range(config["n_layer"]):
        mixer = f"backbone.layers.{i}.mixer."
        shapes |= {f"backbone.layers.{i}.norm.weight": (d,),
                   mixer + "in_proj.weight": (2 * inner, d),
                   mixer + "conv1d.weight": (inner, 1, width),
                   mixer + "x_proj.weight": (rank + 2 * n, inner),
                   mixer + "dt_proj.weight": (inner, rank), mixer + "dt_proj.bias": (inner,),
                   mixer + "A_log": (inner, n), mixer + "D": (inner,),
                   mixer + "out_proj.weight": (d, inner)}
        if ssm["conv_bias"]:
            shapes[mixer + "conv1d.bias"] = (inner,)
        if ssm["bias"]:
            shapes |= {mixer + "in_proj.bias": (2 * inner,), mixer + "out_proj.bias": (d,)}
    return shapes


@pytest.mark.parametrize("name", CONFIGS)
def test_hf_directory_loads_to_the_same_logits(name, tmp_path):
    hf_model = tiny_hf(name)
    hf_model.save_pretrained(tmp_path / "hf")
    ours, extra = load_model(tmp_path / "hf")
    assert isinstance(ours, MambaLM) and extra == {"source_format": "hf"}
    assert ours.config.tie_embeddings == (name == "tied")
    assert sum(p.numel() for p in ours.parameters()) == sum(
        p.numel() for p in hf_model.parameters())
    assert_same_logits(hf_model, ours, CONFIGS[name]["vocab_size"])


def test_sharded_and_pytorch_bin_directories_load_alike(tmp_path):
    hf_model = tiny_hf("untied", seed=3)
    hf_model.save_pretrained(tmp_path / "sharded", max_shard_size="20KB")
    assert (tmp_path / "sharded" / "model.safetensors.index.json").is_file()
    # transformers 5 writes only safetensors; older releases wrote pytorch_model.bin, whole
    # or sharded behind pytorch_model.bin.index.json
    state = hf_model.state_dict()
    names = sorted(state)
    bins = tmp_path / "bins"
    bins.mkdir()
    (bins / "config.json").write_text((tmp_path / "sharded" / "config.json").read_text())
    weight_map = {}
    for part, chunk in enumerate((names[: len(names) // 2], names[len(names) // 2:])):
        file = f"pytorch_model-0000{part + 1}-of-00002.bin"
        torch.save({k: state[k] for k in chunk}, bins / file)
        weight_map |= dict.fromkeys(chunk, file)
    (bins / "pytorch_model.bin.index.json").write_text(json.dumps({"weight_map": weight_map}))
    whole = tmp_path / "whole"
    whole.mkdir()
    (whole / "config.json").write_text((bins / "config.json").read_text())
    torch.save(state, whole / "pytorch_model.bin")
    for directory in (tmp_path / "sharded", bins, whole):
        ours, _ = load_model(directory)
        assert_same_logits(hf_model, ours, CONFIGS["untied"]["vocab_size"], length=8)


def test_mamba_ssm_directory_loads_to_the_same_logits(tmp_path):
    hf_model = tiny_hf("tied", seed=1)
    write_mamba_ssm_dir(hf_model, tmp_path / "ssm")
    ours, extra = load_model(tmp_path / "ssm")
    assert extra == {"source_format": "mamba_ssm"}
    assert ours.config.vocab_size == 13 and ours.backbone.embedding.weight.shape[0] == 16
    assert_same_logits(hf_model, ours, 13)
    # the config.json of the published mamba_ssm checkpoints has only the first eight fields
    old = json.loads((tmp_path / "ssm" / "config.json").read_text())
    for key in ("d_intermediate", "attn_layer_idx", "attn_cfg", "tie_embeddings"):
        del old[key]
    (tmp_path / "ssm" / "config.json").write_text(json.dumps(old))
    assert_same_logits(hf_model, load_model(tmp_path / "ssm")[0], 13)


@pytest.mark.parametrize("name", CONFIGS)
def test_export_to_hf_loads_there_to_the_same_logits(name, tmp_path):
    ours, _ = load_model_from_hf(name, tmp_path)
    files, left_out = export_model(ours, tmp_path / "out", "hf", extra={"tokenizer": "t"})
    assert [f.name for f in files] == ["config.json", "model.safetensors", "mambaseq.json"]
    assert left_out is None
    theirs, info = transformers.MambaForCausalLM.from_pretrained(tmp_path / "out",
                                                                  output_loading_info=True)
    assert not any(info.values()), info          # nothing missing, unexpected or mismatched
    assert_same_logits(theirs.eval(), ours, CONFIGS[name]["vocab_size"])
    again, extra = load_model(tmp_path / "out")
    assert again.config == ours.config and extra == {"tokenizer": "t", "source_format": "hf"}


def test_padded_vocabulary_exports_with_its_rows_and_comes_back_unpadded(tmp_path):
    ours = MambaLM(MambaConfig(d_model=16, n_layer=2, vocab_size=10, d_state=4)).eval()
    export_model(ours, tmp_path / "hf", "hf")
    theirs = transformers.MambaForCausalLM.from_pretrained(tmp_path / "hf").eval()
    assert theirs.config.vocab_size == 16                   # the padded embedding rows
    assert_same_logits(theirs, ours, 10)
    again, _ = load_model(tmp_path / "hf")                  # mambaseq.json: 10 real tokens
    assert again.config == ours.config
    (tmp_path / "hf" / "mambaseq.json").unlink()            # without it: 16 tokens
    assert load_model(tmp_path / "hf")[0].config.vocab_size == 16


@pytest.mark.parametrize("name", CONFIGS)
def test_export_to_mamba_ssm_has_its_state_dict_and_round_trips(name, tmp_path):
    ours, _ = load_model_from_hf(name, tmp_path, layer_norm_epsilon=1e-5)   # mamba_ssm's
    files, _ = export_model(ours, tmp_path / "ssm", "mamba_ssm")
    assert [f.name for f in files] == ["config.json", "pytorch_model.bin", "mambaseq.json"]
    config = json.loads((tmp_path / "ssm" / "config.json").read_text())
    assert sorted(config) == sorted(            # mamba_ssm/models/config_mamba.py's fields
        ["d_model", "d_intermediate", "n_layer", "vocab_size", "ssm_cfg", "attn_layer_idx",
         "attn_cfg", "rms_norm", "residual_in_fp32", "fused_add_norm",
         "pad_vocab_size_multiple", "tie_embeddings"])
    state = torch.load(tmp_path / "ssm" / "pytorch_model.bin", weights_only=True)
    assert {k: tuple(v.shape) for k, v in state.items()} == mamba_ssm_state_shapes(config)
    in_memory_config, in_memory = as_mamba_ssm(ours)        # the same, without files
    assert in_memory_config == config and sorted(in_memory) == sorted(state)
    assert all(torch.equal(in_memory[k], state[k]) for k in state)
    again, extra = load_model(tmp_path / "ssm")
    assert again.config.tie_embeddings == ours.config.tie_embeddings
    assert extra["source_format"] == "mamba_ssm"
    ids = torch.randint(0, CONFIGS[name]["vocab_size"], (2, 12))
    with torch.no_grad():
        assert torch.equal(again(ids), ours(ids))


@pytest.mark.parametrize("cls,words", [
    (MambaClassifier, "the classification head"),
    (BidirectionalClassifier, "the bidirectional reading"),
])
def test_classifiers_export_their_backbone_with_a_note(cls, words, tmp_path):
    clf = cls(MambaConfig(d_model=16, n_layer=1, vocab_size=10, d_state=4,
                          tie_embeddings=False), num_classes=3)
    _, left_out = export_model(clf, tmp_path / "hf", "hf")
    assert words in left_out and "3 classes" in left_out
    assert json.loads((tmp_path / "hf" / "mambaseq.json").read_text())["left_out"] == left_out
    theirs = transformers.MambaForCausalLM.from_pretrained(tmp_path / "hf")
    assert theirs.config.tie_word_embeddings
    exported = load_model(tmp_path / "hf")[0].backbone.state_dict()
    for name, weight in clf.backbone.state_dict().items():
        assert torch.equal(exported[name], weight), name
