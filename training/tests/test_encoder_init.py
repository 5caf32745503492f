"""--encoder-init: a torchvision DenseNet-121 state dict, a CheXNet checkpoint, a torchxrayvision-style pickled
module (each made here from torchvision.models.densenet121 with random weights: nothing is downloaded), and
--freeze keeping the imported stem as it was, weights and BatchNorm statistics."""
import re
import warnings

import pytest
import torch
import torchvision

from cxrcaption_ref.densenet_import import PickleWarning, import_densenet, read_checkpoint
from cxrcaption_ref.model import CaptionModel, ModelConfig
from cxrcaption_train import train as T

from .helpers import randomize_batch_norm_statistics, write_tiny_manifest


@pytest.fixture(scope="module")
def densenet():
    torch.manual_seed(3)
    return randomize_batch_norm_statistics(torchvision.models.densenet121(weights=None))


def _chexnet(state):
    """CheXNet's published form: {"state_dict": module.densenet121.* with the legacy norm.1 / conv.1 names},
    its classifier a Sequential (classifier.0)."""
    out = {}
    for key, value in state.items():
        key = re.sub(r"(denselayer\d+)\.(norm|relu|conv)(\d)\.", r"\1.\2.\3.", key)
        out["module.densenet121." + key.replace("classifier.", "classifier.0.")] = value
    return {"epoch": 3, "best_loss": 0.1, "state_dict": out}


def _xrv_like(densenet):
    """A torchxrayvision-style model: a whole pickled module, gray conv0, 18 outputs, op_threshs buffer."""
    net = torchvision.models.densenet121(weights=None, num_classes=18)
    net.load_state_dict({k: v for k, v in densenet.state_dict().items() if not k.startswith("classifier")},
                        strict=False)
    with torch.no_grad():
        gray = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
        gray.weight.copy_(densenet.features.conv0.weight.sum(dim=1, keepdim=True) * 0.5)
    net.features.conv0 = gray
    net.register_buffer("op_threshs", torch.rand(18))
    return net.eval()


def _encoder_equals(model, expected_features):
    for key, value in expected_features.items():
        assert torch.equal(model.state_dict()["encoder.features." + key], value), key


def test_torchvision_state_dict(tmp_path, densenet):
    path = tmp_path / "densenet121.pth"
    torch.save(densenet.state_dict(), path)
    model = CaptionModel(ModelConfig(), 10)
    report = import_densenet(model, path)
    assert not report.pickled and report.conv0_summed
    assert sorted(report.ignored) == ["classifier.bias", "classifier.weight"]
    expected = {k[len("features."):]: v for k, v in densenet.state_dict().items() if k.startswith("features.")}
    expected["conv0.weight"] = densenet.features.conv0.weight.sum(dim=1, keepdim=True)
    _encoder_equals(model, expected)


def test_chexnet_checkpoint_with_legacy_names(tmp_path, densenet):
    path = tmp_path / "model.pth.tar"
    torch.save(_chexnet(densenet.state_dict()), path)
    model = CaptionModel(ModelConfig(in_channels=3, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]), 10)
    report = import_densenet(model, path)
    assert sorted(report.ignored) == ["module.densenet121.classifier.0.bias",
                                      "module.densenet121.classifier.0.weight"]
    model.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model.encode(x), torch.relu(densenet.features(x)))


def test_pickled_module_warns_that_it_runs_code_and_loads(tmp_path, densenet):
    xrv = _xrv_like(densenet)
    path = tmp_path / "xrv-densenet121-all.pt"
    torch.save(xrv, path)  # a whole module, as torchxrayvision publishes its weights
    model = CaptionModel(ModelConfig(), 10)
    with pytest.warns(PickleWarning, match="RUNS CODE FROM THE FILE"):
        report = import_densenet(model, path)
    assert report.pickled and not report.conv0_summed
    assert sorted(report.ignored) == ["classifier.bias", "classifier.weight", "op_threshs"]
    _encoder_equals(model, {k[len("features."):]: v for k, v in xrv.state_dict().items()
                            if k.startswith("features.")})
    # a plain state dict never takes the unpickling path
    torch.save(xrv.state_dict(), tmp_path / "plain.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("error", PickleWarning)
        _, pickled = read_checkpoint(tmp_path / "plain.pt")
    assert not pickled


def test_missing_tensors_are_named(tmp_path, densenet):
    state = dict(densenet.state_dict())
    del state["features.denseblock3.denselayer7.conv2.weight"]
    del state["features.norm5.running_var"]
    model = CaptionModel(ModelConfig(), 10)
    with pytest.raises(ValueError, match=r"2 encoder tensors missing: \['encoder.features.denseblock3.denselayer7."
                                         r"conv2.weight', 'encoder.features.norm5.running_var'\]"):
        import_densenet(model, state)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        import_densenet(model, tmp_path / "absent.pth")


def test_trainer_imports_the_encoder_and_stage_2_keeps_the_frozen_stem(tmp_path, densenet):
    path = tmp_path / "chexnet.pth.tar"
    torch.save(_chexnet(densenet.state_dict()), path)
    manifest = write_tiny_manifest(tmp_path / "data")
    out = tmp_path / "run"
    T.main(["--manifest", manifest, "--out", str(out), "--config", "densenet121", "--input-size", "64",
            "--encoder-init", str(path), "--stages", "2", "--epochs2", "1", "--max-steps", "2", "--batch-size", "4",
            "--image-cache", "none", "--val-limit", "2", "--max-len", "8", "--dtype", "f32"])
    import json
    events = [json.loads(line) for line in open(out / "log.jsonl")]
    init = [e for e in events if e.get("event") == "encoder_init"]
    assert len(init) == 1 and init[0]["loaded"] == len([k for k in densenet.state_dict() if k.startswith("features.")])
    assert init[0]["ignored"] == ["module.densenet121.classifier.0.weight", "module.densenet121.classifier.0.bias"]
    trained = torch.load(out / "last.pt", weights_only=False)["model"]
    source = densenet.state_dict()
    for key, value in source.items():
        if not key.startswith("features."):
            continue
        part = key.split(".")[1]
        name = "encoder." + key
        if part in T.FROZEN_STEM:  # frozen: weights and BatchNorm statistics exactly as imported
            expected = value.sum(dim=1, keepdim=True) if key == "features.conv0.weight" else value
            assert torch.equal(trained[name], expected), key
    # the rest learned (a weight moved) and its BatchNorm statistics moved in train mode
    assert not torch.equal(trained["encoder.features.denseblock4.denselayer1.conv1.weight"],
                           source["features.denseblock4.denselayer1.conv1.weight"])
    assert not torch.equal(trained["encoder.features.norm5.running_mean"], source["features.norm5.running_mean"])


def test_freeze_names_a_part_of_the_encoder():
    model = CaptionModel(T.PRESETS["tiny"], 10)
    stem, rest = T.split_stem(model, "transition1")
    assert [n for n, _ in stem.named_children()] == ["conv0", "norm0", "relu0", "pool0", "denseblock1",
                                                      "transition1"]
    assert T.split_stem(model, "none")[0].__len__() == 0
    with pytest.raises(ValueError, match="--freeze 'denseblock9': not a part of the encoder"):
        T.split_stem(model, "denseblock9")
