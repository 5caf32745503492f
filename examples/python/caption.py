#!/usr/bin/env python3
"""Captions chest X-ray images with libcxrcaption through the cxrcaption package and prints ranked impressions.

    pip install './python[images,dicom]'   # or, from a checkout: CXRCAPTION_LIBRARY=/path/to/libcxrcaption.so
    python3 examples/python/caption.py --model model.safetensors chest.png chest.jpg chest.dcm ...

The package reads each path itself (Session.generate(path)): PNG and JPEG through Pillow (16-bit PNGs stay
16-bit, palette images give their colours), DICOM through pydicom with its attributes (cxrcaption.dicom), the
kind recognised by content. Images above cxrcaption.MAX_IMAGE_PIXELS are refused before they are decoded.
"""
import argparse
import os
import sys

try:
    import cxrcaption
except ImportError:  # run from a checkout without installing: use python/src
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "src"))
    import cxrcaption
from cxrcaption import CXRError, Model, version


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
                results = session.generate(path, beam_width=args.beam_width)
                findings = session.findings(path) if model.labels else {}
            except (CXRError, OSError, ValueError, ImportError) as error:
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
