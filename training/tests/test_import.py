"""Importing torchvision / CheXNet-style DenseNet-121 checkpoints into the encoder (no downloads: the
checkpoints are made here from torchvision.models.densenet121(weights=None))."""

import re

import pytest
import torch
import torchvision

from cxrcaption_ref.export import convert_densenet_state_dict, import_densenet
from cxrcaption_ref.model import CaptionModel, ModelConfig

from .helpers import randomize_batch_norm_statistics


@pytest.fixture(scope="module")
def torchvision_densenet():
    torch.manual_seed(7)
    net = randomize_batch_norm_statistics(torchvision.models.densenet121(weights=None))
    with torch.no_grad():
        for name, p in net.named_parameters():
            if "norm" in name and name.endswith("bias"):
                p.normal_(0, 0.1)
    return net.eval()


def legacy_chexnet_names(state):
    """Old torchvision names (norm.1, conv.1, ...) under CheXNet's module.densenet121. prefix, with its
    classifier.0 (Linear before Sigmoid)."""
    out = {}
    for key, value in state.items():
        key = re.sub(r"(denselayer\d+)\.(norm|relu|conv)(\d)\.", r"\1.\2.\3.", key)
        if key.startswith("classifier."):
            key = key.replace("classifier.", "classifier.0.")
        out["module.densenet121." + key] = value
    return out


def test_legacy_names_are_converted():
    converted = convert_densenet_state_dict({
        "module.densenet121.features.denseblock1.denselayer1.norm.1.weight": torch.zeros(64),
        "module.densenet121.features.denseblock3.denselayer12.conv.2.weight": torch.zeros(32, 128, 3, 3),
        "module.densenet121.features.transition1.norm.weight": torch.zeros(256),
        "module.densenet121.classifier.0.weight": torch.zeros(14, 1024),
    }, in_channels=1)
    assert set(converted) == {"encoder.features.denseblock1.denselayer1.norm1.weight",
                              "encoder.features.denseblock3.denselayer12.conv2.weight",
                              "encoder.features.transition1.norm.weight"}


def test_unexpected_tensor_is_an_error():
    with pytest.raises(ValueError, match="unexpected tensor"):
        convert_densenet_state_dict({"something.else": torch.zeros(1)})


def test_chexnet_checkpoint_three_channels(tmp_path, torchvision_densenet):
    path = tmp_path / "chexnet.pth.tar"
    torch.save({"epoch": 1, "state_dict": legacy_chexnet_names(torchvision_densenet.state_dict())}, path)
    model = CaptionModel(ModelConfig(in_channels=3, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]), 20)
    import_densenet(model, path)
    model.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = torch.relu(torchvision_densenet.features(x))
        assert torch.equal(model.encode(x), expected)


def test_three_channel_conv0_summed_for_gray(tmp_path, torchvision_densenet):
    path = tmp_path / "tv.pth"
    torch.save(torchvision_densenet.state_dict(), path)  # current torchvision names, no prefix
    model = CaptionModel(ModelConfig(), 20)
    import_densenet(model, path)
    model.eval()
    conv0 = torchvision_densenet.features.conv0.weight
    assert torch.equal(model.encoder.features.conv0.weight, conv0.sum(dim=1, keepdim=True))
    gray = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        expected = torch.relu(torchvision_densenet.features(gray.expand(1, 3, 64, 64)))
        got = model.encode(gray)
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-4 * float(expected.abs().max()))


def test_mismatched_architecture_is_refused(torchvision_densenet):
    model = CaptionModel(ModelConfig(block_config=(2, 2, 2, 2), growth_rate=8, num_init_features=16), 20)
    with pytest.raises(ValueError, match="does not fit"):
        import_densenet(model, torchvision_densenet.state_dict())
