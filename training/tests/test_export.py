import json

import pytest
import torch

from cxrcaption_ref.beam import SpecialTokens
from cxrcaption_ref.export import export_model, load_model, main as export_main, metadata_for
from cxrcaption_ref.model import CaptionModel, ModelConfig, expected_shapes, parameter_names

from .helpers import SMALL, VOCAB, randomize_batch_norm_statistics, read_header

SPECIAL = SpecialTokens.from_vocab(VOCAB)


def small_model(labels=0, seed=0):
    torch.manual_seed(seed)
    return randomize_batch_norm_statistics(CaptionModel(SMALL, len(VOCAB), labels), mean_std=0.3)


def test_names_shapes_and_dtypes_in_the_file(tmp_path):
    model = small_model(labels=2)
    path = tmp_path / "m.safetensors"
    export_model(model, path, VOCAB, SPECIAL, " ", ["a", "b"])
    header = read_header(path)
    meta = header.pop("__metadata__")
    names = {k for k in header if not k.endswith("num_batches_tracked")}
    assert names == set(parameter_names(SMALL, 2))
    # a few names spelled out as docs/WEIGHTS.md spells them
    for name in ["encoder.features.conv0.weight", "encoder.features.norm0.running_var",
                 "encoder.features.denseblock1.denselayer1.norm1.running_var",
                 "encoder.features.denseblock2.denselayer2.conv2.weight",
                 "encoder.features.transition3.conv.weight", "encoder.features.norm5.bias",
                 "decoder.embedding.weight", "decoder.lstm.weight_ih", "decoder.lstm.bias_hh",
                 "decoder.att_h.weight", "decoder.att_v.bias", "decoder.att_w.weight", "decoder.out_h.bias",
                 "decoder.out_c.weight", "findings.weight", "findings.bias"]:
        assert name in header, name
    for absent in ["decoder.att_h.bias", "decoder.att_w.bias", "decoder.out_c.bias",
                   "encoder.features.conv0.bias", "encoder.classifier.weight"]:
        assert absent not in header
    shapes = expected_shapes(SMALL, len(VOCAB), 2)
    for name in names:
        assert tuple(header[name]["shape"]) == shapes[name], name
        assert header[name]["dtype"] == "F32"
    assert header["decoder.lstm.weight_ih"]["shape"] == [4 * 32, 16 + SMALL.feature_channels]
    assert header["encoder.features.denseblock1.denselayer1.norm1.num_batches_tracked"]["dtype"] == "I64"

    assert set(meta) == {"format", "config", "vocab", "special_tokens", "join", "labels"}
    assert meta["format"] == "cxrcaption/1"
    config = json.loads(meta["config"])
    assert set(config) == {"block_config", "growth_rate", "bn_size", "num_init_features", "in_channels",
                           "input_size", "hidden", "embed", "attention_dim", "bn_eps", "mean", "std",
                           "preprocessing"}
    assert config["block_config"] == [2, 2, 2, 2] and config["mean"] == [0.5] and config["bn_eps"] == 1e-5
    assert json.loads(meta["vocab"]) == VOCAB
    assert json.loads(meta["special_tokens"]) == {"pad": 0, "start": 1, "end": 2, "nou": 3}
    assert meta["join"] == " "
    assert json.loads(meta["labels"]) == ["a", "b"]


def test_densenet121_shapes_match_the_table():
    shapes = expected_shapes(ModelConfig(), 300)
    model_shapes = {k: tuple(v.shape) for k, v in CaptionModel(ModelConfig(), 300).state_dict().items()
                    if not k.endswith("num_batches_tracked")}
    assert model_shapes == shapes
    assert shapes["encoder.features.norm5.weight"] == (1024,)
    assert shapes["encoder.features.conv0.weight"] == (64, 1, 7, 7)
    assert shapes["encoder.features.transition3.conv.weight"] == (512, 1024, 1, 1)
    assert shapes["encoder.features.denseblock4.denselayer16.conv1.weight"] == (128, 992, 1, 1)
    assert shapes["decoder.lstm.weight_ih"] == (2048, 256 + 1024)
    assert shapes["decoder.out_c.weight"] == (300, 1024)
    assert "findings.weight" not in shapes


@pytest.mark.parametrize("dtype,tag", [("f32", "F32"), ("f16", "F16"), ("bf16", "BF16")])
def test_round_trip(tmp_path, dtype, tag):
    model = small_model(labels=3, seed=1)
    path = tmp_path / f"m-{dtype}.safetensors"
    export_model(model, path, VOCAB, SPECIAL, "", ["x", "y", "z"], dtype=dtype, tokenizer="zh", name="n")
    header = read_header(path)
    assert header["decoder.out_h.weight"]["dtype"] == tag
    assert header["__metadata__"]["tokenizer"] == "zh" and header["__metadata__"]["name"] == "n"
    loaded, info = load_model(path)
    assert info["vocab"] == VOCAB and info["join"] == "" and info["labels"] == ["x", "y", "z"]
    assert info["config"] == SMALL and info["special"] == SPECIAL
    x = torch.randn(1, 1, 64, 64)
    tokens = torch.tensor([[4, 5, 6, 2]])
    with torch.no_grad():
        a = model.teacher_forced(model.encode(x), tokens, 1)[0]
        b = loaded.teacher_forced(loaded.encode(x), tokens, 1)[0]
        if dtype == "f32":
            assert torch.equal(a, b)
            for key, value in model.state_dict().items():
                assert torch.equal(value, loaded.state_dict()[key]), key
        else:
            for key, value in model.state_dict().items():
                if value.is_floating_point():
                    rounded = value.to({"f16": torch.float16, "bf16": torch.bfloat16}[dtype]).float()
                    assert torch.equal(rounded, loaded.state_dict()[key]), key


def test_metadata_validation():
    with pytest.raises(ValueError, match="join"):
        metadata_for(SMALL, VOCAB, SPECIAL, "-")
    with pytest.raises(ValueError, match="special"):
        metadata_for(SMALL, VOCAB, SpecialTokens(0, 1, 1, 3), " ")
    with pytest.raises(ValueError, match="special"):
        metadata_for(SMALL, VOCAB, SpecialTokens(0, 1, 2, len(VOCAB)), " ")
    assert "labels" not in metadata_for(SMALL, VOCAB, SPECIAL, " ")
    with pytest.raises(ValueError, match="unknown metadata keys"):
        metadata_for(SMALL, VOCAB, SPECIAL, " ", trained_on="x")


def test_describing_metadata_is_written_and_none_left_out():
    meta = metadata_for(SMALL, VOCAB, SPECIAL, " ", name="m", disclaimer="Not for clinical use.", version="2",
                        intended_use=None)
    assert (meta["name"], meta["disclaimer"], meta["version"]) == ("m", "Not for clinical use.", "2")
    assert "intended_use" not in meta and "license" not in meta


def test_export_refuses_mismatched_labels_and_vocab(tmp_path):
    model = small_model(labels=2)
    with pytest.raises(ValueError, match="labels"):
        export_model(model, tmp_path / "a.safetensors", VOCAB, SPECIAL, " ", ["only-one"])
    with pytest.raises(ValueError, match="labels"):
        export_model(model, tmp_path / "a.safetensors", VOCAB, SPECIAL, " ", None)
    with pytest.raises(ValueError, match="vocab"):
        export_model(model, tmp_path / "a.safetensors", VOCAB[:-1], SPECIAL, " ", ["a", "b"])


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="input_size"):
        ModelConfig(input_size=100)
    with pytest.raises(ValueError, match="in_channels"):
        ModelConfig(in_channels=2)
    with pytest.raises(ValueError, match="unknown config keys"):
        ModelConfig.from_dict({"hidden": 8, "colour": 1})


def test_command_line(tmp_path):
    (tmp_path / "vocab.json").write_text(json.dumps(VOCAB))
    (tmp_path / "config.json").write_text(SMALL.to_json())
    out = tmp_path / "cli.safetensors"
    assert export_main(["--out", str(out), "--vocab", str(tmp_path / "vocab.json"), "--config",
                        str(tmp_path / "config.json"), "--dtype", "bf16", "--seed", "3"]) == 0
    header = read_header(out)
    assert header["decoder.embedding.weight"]["shape"] == [len(VOCAB), 16]
    assert header["decoder.embedding.weight"]["dtype"] == "BF16"
    model, info = load_model(out)
    assert info["labels"] == [] and model.findings is None


def test_set_generation_changes_only_the_header(tmp_path):
    import shutil
    import struct
    from pathlib import Path

    from cxrcaption_ref.export import set_generation

    golden = Path(__file__).resolve().parents[2] / "Tests" / "CXRKitTests" / "Fixtures" / "golden" / "model.safetensors"
    path = tmp_path / "model.safetensors"
    shutil.copy(golden, path)

    def split(p):
        raw = p.read_bytes()
        (length,) = struct.unpack("<Q", raw[:8])
        return json.loads(raw[8:8 + length]), raw[8 + length:]

    set_generation(path, {"no_repeat_ngram_size": 2, "distinct_results": True})
    header, data = split(path)
    assert json.loads(header["__metadata__"]["generation"]) == {"distinct_results": True, "no_repeat_ngram_size": 2}
    assert list(header["__metadata__"])[0] == "format"
    original_header, original_data = split(golden)
    assert data == original_data
    set_generation(path, None)
    assert path.read_bytes() == golden.read_bytes()
    with pytest.raises(ValueError, match="unknown generation key"):
        set_generation(path, {"top_k": 3})
    with pytest.raises(ValueError, match="distinct_results must be bool"):
        set_generation(path, {"distinct_results": 1})
