"""The reference model against an independent float64 numpy reading of docs/WEIGHTS.md."""

import numpy as np
import torch

from cxrcaption_ref.model import CaptionModel

from .helpers import SMALL, VOCAB


def numpy_decoder(sd, V, tokens, start):
    """docs/WEIGHTS.md 'The model it defines', in float64, from the tensors by name."""
    w = {k: v.double().numpy() for k, v in sd.items() if v.is_floating_point()}
    F_, G, _ = V.shape
    regions = V.reshape(F_, G * G).T  # r = y * G + x
    gav = regions.mean(0)
    proj = regions @ w["decoder.att_v.weight"].T + w["decoder.att_v.bias"]
    hidden = w["decoder.lstm.weight_hh"].shape[1]
    h = np.zeros(hidden)
    c = np.zeros(hidden)
    sig = lambda z: 1 / (1 + np.exp(-z))
    logits_all, alphas = [], []
    prev = start
    for token in tokens:
        x = np.concatenate([w["decoder.embedding.weight"][prev], gav])
        gates = (w["decoder.lstm.weight_ih"] @ x + w["decoder.lstm.bias_ih"] + w["decoder.lstm.weight_hh"] @ h
                 + w["decoder.lstm.bias_hh"])
        i, f, g, o = np.split(gates, 4)
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        e = np.tanh(w["decoder.att_h.weight"] @ h + proj) @ w["decoder.att_w.weight"][0]
        alpha = np.exp(e - e.max())
        alpha /= alpha.sum()
        context = alpha @ regions
        logits_all.append(w["decoder.out_h.weight"] @ h + w["decoder.out_h.bias"] + w["decoder.out_c.weight"] @ context)
        alphas.append(alpha)
        prev = token
    return np.array(logits_all), np.array(alphas)


def test_decoder_and_findings_match_the_written_definition():
    torch.manual_seed(3)
    model = CaptionModel(SMALL, len(VOCAB), 2).eval()
    x = torch.randn(1, 1, 64, 64)
    tokens = [4, 5, 6, 7, 2]
    with torch.no_grad():
        V = model.encode(x)
        logits, alpha = model.teacher_forced(V, torch.tensor([tokens]), 1)
        findings = model.findings_probabilities(V)
    assert V.shape == (1, SMALL.feature_channels, 2, 2) and bool((V >= 0).all())
    ref_logits, ref_alpha = numpy_decoder(model.state_dict(), V[0].double().numpy(), tokens, 1)
    np.testing.assert_allclose(logits[0].numpy(), ref_logits, rtol=0, atol=1e-5)
    np.testing.assert_allclose(alpha[0].numpy(), ref_alpha, rtol=0, atol=1e-6)
    sd = model.state_dict()
    gav = V[0].double().mean(dim=(1, 2)).numpy()
    ref_findings = 1 / (1 + np.exp(-(sd["findings.weight"].double().numpy() @ gav + sd["findings.bias"].double().numpy())))
    np.testing.assert_allclose(findings[0].numpy(), ref_findings, atol=1e-6)


def test_encoder_is_relu_of_norm5_with_folded_batchnorm():
    torch.manual_seed(4)
    model = CaptionModel(SMALL, len(VOCAB)).eval()
    features = model.encoder.features
    with torch.no_grad():
        for m in features.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_var.uniform_(0.5, 2)
                m.running_mean.normal_(0, 0.3)
                m.bias.normal_(0, 0.3)
        x = torch.randn(2, 1, 64, 64)
        pre = features[:-1](x)  # everything before norm5
        n5 = features.norm5
        scale = n5.weight / torch.sqrt(n5.running_var + SMALL.bn_eps)
        shift = n5.bias - n5.running_mean * scale
        folded = torch.relu(pre * scale.view(1, -1, 1, 1) + shift.view(1, -1, 1, 1))
        assert torch.allclose(model.encode(x), folded, atol=1e-5)
    assert [name for name, _ in features.named_children()] == [
        "conv0", "norm0", "relu0", "pool0", "denseblock1", "transition1", "denseblock2", "transition2",
        "denseblock3", "transition3", "denseblock4", "norm5"]
    assert features.pool0.kernel_size == 3 and features.pool0.stride == 2 and features.pool0.padding == 1
    assert features.conv0.stride == (2, 2) and features.conv0.padding == (3, 3)
