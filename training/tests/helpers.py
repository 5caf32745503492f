import json
import os
import struct

import numpy as np
from PIL import Image

from cxrcaption_ref.model import ModelConfig

SMALL = ModelConfig(block_config=(2, 2, 2, 2), growth_rate=8, bn_size=2, num_init_features=16, input_size=64,
                    hidden=32, embed=16, attention_dim=24)
VOCAB = ["<pad>", "<start>", "<end>", "<nou>", "heart", "is", "normal", ".", "lungs", "clear", ","]


def read_header(path):
    """The raw safetensors header (dict), parsed without the safetensors library."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(length))


TEXTS = {
    "": "no acute cardiopulmonary abnormality.",
    "cardiomegaly": "cardiomegaly. no acute disease.",
    "pleural_effusion": "small right pleural effusion.",
}


def learnable_image(kind, rng):
    """A 96x96 16-bit image whose content depends on the label (so it is learnable)."""
    y, x = np.mgrid[0:96, 0:96]
    img = 20000 + 3000 * rng.standard_normal((96, 96))
    if kind == "cardiomegaly":
        img += 20000 * (((x - 48) / 30) ** 2 + ((y - 60) / 22) ** 2 < 1)
    elif kind == "pleural_effusion":
        img += 25000 * (y > 70) * (x < 40)
    return np.clip(img, 0, 65535).astype(np.uint16)


def write_tiny_manifest(root, counts=(12, 6, 3)):
    """12 train / 6 val / 3 test images (or ``counts``) of three learnable kinds, with impressions and labels;
    returns the manifest path."""
    rng = np.random.default_rng(0)
    lines = []
    for split, n in zip(("train", "val", "test"), counts):
        for i in range(n):
            kind = list(TEXTS)[i % 3]
            path = f"images/{split}_{i}.png"
            os.makedirs(root / "images", exist_ok=True)
            Image.fromarray(learnable_image(kind, rng)).save(root / path)
            lines.append({"id": f"{split}{i}", "image": path, "split": split, "impression": TEXTS[kind],
                          "labels": [kind] if kind else [], "findings_spec": [{"kind": kind, "side": "right",
                          "severity": "small"}] if kind == "pleural_effusion" else [], "seed": i})
    with open(root / "manifest.jsonl", "w") as fh:
        fh.write("\n".join(json.dumps(l) for l in lines) + "\n")
    return str(root / "manifest.jsonl")


def randomize_batch_norm_statistics(module, mean_std=0.2):
    """Gives every BatchNorm of `module` non-trivial running statistics (variance in 0.5 ... 2, mean with
    standard deviation `mean_std`), so that folding and import tests see more than the identity. Returns it
    in eval mode. Uses torch's global generator: seed it first."""
    import torch
    with torch.no_grad():
        for name, buf in module.named_buffers():
            if name.endswith("running_var"):
                buf.uniform_(0.5, 2.0)
            elif name.endswith("running_mean"):
                buf.normal_(0, mean_std)
    return module.eval()
