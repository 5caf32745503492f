import json
import struct

from cxrcaption_ref.model import ModelConfig

SMALL = ModelConfig(block_config=(2, 2, 2, 2), growth_rate=8, bn_size=2, num_init_features=16, input_size=64,
                    hidden=32, embed=16, attention_dim=24)
VOCAB = ["<pad>", "<start>", "<end>", "<nou>", "heart", "is", "normal", ".", "lungs", "clear", ","]


def read_header(path):
    """The raw safetensors header (dict), parsed without the safetensors library."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(length))
