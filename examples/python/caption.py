#!/usr/bin/env python3
"""Captions chest X-ray images with libcxrcaption through the cxrcaption package and prints ranked impressions.

    pip install ./python pillow     # or, from a checkout: CXRCAPTION_LIBRARY=/path/to/libcxrcaption.so
    python3 examples/python/caption.py --model model.safetensors chest.png ...

Images are read with Pillow (any mode it can open; 16-bit PNGs stay 16-bit).
"""
import argparse
import os
import sys

import numpy as np
from PIL import Image

try:
    import cxrcaption
except ImportError:  # run from a checkout without installing: use python/src
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "src"))
    import cxrcaption
from cxrcaption import CXRError, Model, version


def read_pixels(path):
    """A numpy array the library understands: uint8 gray/RGB/RGBA, or uint16 gray."""
    with Image.open(path) as image:
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            return np.asarray(image).astype(np.uint16)
        if image.mode not in ("L", "RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        return np.asarray(image)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--beam-width", type=int, default=3)
    parser.add_argument("images", nargs="+")
    args = parser.parse_args()
    status = 0
    with Model(args.model) as model, model.session() as session:
        print(f"libcxrcaption {version()}; model: vocabulary {model.info.vocab_size}, "
              f"input {model.info.input_size}, labels {model.labels}")
        for path in args.images:
            try:
                results = session.generate(read_pixels(path), beam_width=args.beam_width)
                findings = session.findings(read_pixels(path)) if model.labels else {}
            except (CXRError, OSError, ValueError) as error:
                print(f"{path}: {error}", file=sys.stderr)
                status = 1
                continue
            print(f"{path}:")
            for rank, result in enumerate(results, 1):
                print(f"  {rank}. {result.text}  (score {result.score:.4f}"
                      f"{', truncated' if result.truncated else ''})")
            if findings:
                print("  findings: " + ", ".join(f"{k} {v:.3f}" for k, v in findings.items()))
    return status


if __name__ == "__main__":
    sys.exit(main())
