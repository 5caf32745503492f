#!/usr/bin/env python3
"""Captions chest X-ray DICOM files read with pydicom and prints the ranked impressions.

    pip install ./python pydicom            # (with the library bundled or CXRCAPTION_LIBRARY set)
    python3 examples/python/pydicom_caption.py --model model.safetensors chest.dcm ...

The library gets pydicom's pixel_array (the stored values) with PhotometricInterpretation, BitsStored,
PixelRepresentation, RescaleSlope/Intercept and the first WindowCenter/Width (cxrcaption.dicom.dicom_image),
and applies them itself, as the C++ DCMTK example does: both print the same impressions for the same file.
Compressed files need pydicom's decoders for their transfer syntax (Pillow covers JPEG baseline and
JPEG 2000; see pydicom's documentation for others).
"""
import argparse
import os
import sys

try:
    import cxrcaption
except ImportError:  # run from a checkout without installing: use python/src
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python", "src"))
    import cxrcaption

import pydicom
from cxrcaption.dicom import dicom_image


def describe(path, dataset, image):
    window = image.get("window")
    syntax = dataset.file_meta.TransferSyntaxUID
    return (f"{path}: {syntax.name} ({syntax}), {dataset.Columns}x{dataset.Rows}, "
            f"{dataset.get('BitsAllocated')} allocated / {dataset.get('BitsStored')} stored bits, "
            f"{'signed' if dataset.get('PixelRepresentation', 0) else 'unsigned'}, "
            f"{dataset.get('PhotometricInterpretation')}, rescale {image.get('rescale', (1, 0))[0]:g}/"
            f"{image.get('rescale', (1, 0))[1]:g}, "
            + (f"window {window[0]:g}/{window[1]:g}" if window else "no window"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--beam", type=int, default=3)
    parser.add_argument("--no-window", action="store_true", help="ignore WindowCenter/Width")
    parser.add_argument("--attributes", action="store_true", help="print what was read from each file")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    status = 0
    with cxrcaption.Model(args.model) as model, model.session() as session:
        for path in args.files:
            try:
                dataset = pydicom.dcmread(path)
                pixels, image = dicom_image(dataset, use_window=not args.no_window)
                results = session.generate(pixels, beam_width=args.beam, **image)
                findings = session.findings(pixels, **image) if model.labels else {}
            except Exception as error:  # one bad file does not stop the others
                print(f"{path}: {type(error).__name__}: {error}", file=sys.stderr)
                status = 1
                continue
            if args.attributes:
                print(describe(path, dataset, image))
            print(f"{path}:")
            for rank, result in enumerate(results, 1):
                print(f"  {rank}. {result.text}  (score {result.score:.6f}, log p {result.log_prob:.6f}"
                      f"{', truncated' if result.truncated else ''})")
            if findings:
                print("  findings: " + ", ".join(f"{label} {p:.4f}" for label, p in findings.items()))
    return status


if __name__ == "__main__":
    sys.exit(main())
