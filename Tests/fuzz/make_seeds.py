"""Writes the seed corpora of the fuzz targets (Tests/fuzz/corpus/<target>).

Run in the training virtualenv (scripts/setup --training), from anywhere:

    python Tests/fuzz/make_seeds.py

- model_load: the smallest models the loader accepts (one layer per dense block, a 6-word vocabulary), in
  F32, F16 and BF16, with and without a findings head: a fuzzer mutates their few kilobytes of header and
  weights far faster than a real model's.
- caption: one input per pixel format and a windowed 16-bit MONOCHROME1 one, in caption.c's byte layout.
- png_reader, jpeg_reader, dicom_reader: small images in the layouts radiology files use (8/16-bit gray,
  palette, RGB(A) PNG; baseline, progressive, gray and colour JPEG; DICOM 8/16-bit, MONOCHROME1
  with a modality LUT and a window, RGB, implicit VR, no preamble, RLE, JPEG baseline and JPEG 2000).
Deterministic (seeded), so running it again gives the same bytes. Files named regress-* (inputs that once
failed) are not written here and are left alone.
"""

import io
import struct
from pathlib import Path

import numpy as np
import pydicom
import torch
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEG2000Lossless, JPEGBaseline8Bit, RLELossless,
    generate_uid,
)

from cxrcaption_ref.beam import SpecialTokens
from cxrcaption_ref.export import export_model
from cxrcaption_ref.model import CaptionModel, ModelConfig
from cxrcaption_ref.synthetic import randomize_weights

CONFIG = ModelConfig(block_config=(1, 1, 1, 1), growth_rate=2, bn_size=1, num_init_features=4, input_size=32,
                     hidden=4, embed=3, attention_dim=3)
VOCAB = ["<pad>", "<start>", "<end>", "<nou>", "heart", "normal"]
SPECIAL = SpecialTokens(pad=0, start=1, end=2, nou=3)
LABELS = ["effusion", "pneumothorax"]


CORPUS = Path(__file__).resolve().parent / "corpus"


def model_seeds() -> None:
    out = CORPUS / "model_load"
    out.mkdir(parents=True, exist_ok=True)
    calibration = torch.linspace(-2, 2, 2 * 32 * 32).reshape(2, 1, 32, 32)
    for labels in ([], LABELS):
        torch.manual_seed(7)
        model = CaptionModel(CONFIG, len(VOCAB), len(labels))
        randomize_weights(model, calibration, seed=7)
        model.eval()
        for dtype in ("f32", "f16", "bf16"):
            name = f"tiny-{dtype}{'-findings' if labels else ''}.safetensors"
            export_model(model, out / name, VOCAB, SPECIAL, " ", labels=labels or None, dtype=dtype,
                         include_num_batches_tracked=dtype == "f32", name="fuzz seed")


def caption_seeds() -> None:
    """caption.c reads: format, width, height, rows, bits, photometric, slope/intercept selectors, window,
    image struct, beam, results, tokens, length-penalty selector, flags, abort, params struct, no-repeat
    n-gram, distinct, use-model-defaults, pixels."""
    out = CORPUS / "caption"
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    pixels = rng.integers(0, 256, 96, dtype=np.uint8).tobytes()
    for format_index, name in enumerate(["gray8", "gray16", "grayf32", "rgb8", "rgba8"]):
        # no-repeat 2-grams and a distinct search (extra beam 3) on the 8-bit ones, plain search on the rest
        options = bytes([2, 0b00001111, 0]) if format_index in (0, 3) else bytes([0, 0, 0])
        fields = bytes([format_index, 14, 18, 0, 199, 0, 0, 0, 0, 0, 2, 1, 12, 0, 0b00010011, 0, 0]) + options
        (out / f"{name}.bin").write_bytes(fields + pixels)
    # GRAY16, 12 bits stored, MONOCHROME1, slope 2 / intercept -1024, window centre 300 width 1500; beam 4,
    # length penalty 1, an abort after 10 polls.
    def raw(value: float) -> bytes:
        return bytes([230]) + struct.pack("<d", value)
    fields = bytes([1, 40, 30, 130, 11, 1, 200, 50, 2, 200]) + raw(-1024.0) + bytes([200]) + raw(300.0)
    fields += raw(1500.0) + bytes([0, 3, 3, 30, 200, 50, 1, 0b00010111, 210, 0, 3, 0, 0])
    (out / "gray16-mono1-window.bin").write_bytes(fields + pixels)


def chest(size: tuple[int, int], depth: int = 8) -> np.ndarray:
    """A phantom: a bright body with two dark lungs and noise, `depth` bits."""
    h, w = size
    y, x = np.mgrid[0:h, 0:w]
    body = ((x - w / 2) / (0.45 * w)) ** 2 + ((y - h / 2) / (0.5 * h)) ** 2 < 1
    lungs = (((x - 0.32 * w) / (0.14 * w)) ** 2 + ((y - 0.45 * h) / (0.3 * h)) ** 2 < 1) | (
        ((x - 0.68 * w) / (0.14 * w)) ** 2 + ((y - 0.45 * h) / (0.3 * h)) ** 2 < 1)
    level = 0.15 + 0.6 * body - 0.4 * lungs + np.random.default_rng(5).normal(0, 0.03, (h, w))
    return (np.clip(level, 0, 1) * ((1 << depth) - 1)).astype(np.uint16 if depth > 8 else np.uint8)


def png_seeds() -> None:
    out = CORPUS / "png_reader"
    out.mkdir(parents=True, exist_ok=True)
    gray = chest((20, 24))
    Image.fromarray(gray).save(out / "gray8.png")
    Image.fromarray(chest((20, 24), 16).astype(np.uint16)).save(out / "gray16.png")
    Image.fromarray(gray > 100).save(out / "gray1.png")
    Image.fromarray(gray).convert("P", palette=Image.Palette.ADAPTIVE, colors=4).save(out / "palette2.png",
                                                                                       bits=2)
    Image.fromarray(gray).convert("P").save(out / "palette-trns.png", transparency=0)
    Image.fromarray(np.stack([gray, gray // 2, 255 - gray], axis=-1)).save(out / "rgb8.png")
    Image.fromarray(np.stack([gray, gray, gray, gray], axis=-1)).save(out / "rgba8.png")
    Image.fromarray(np.stack([gray, gray], axis=-1).astype(np.uint8), mode="LA").save(out / "gray-alpha.png")


def jpeg_seeds() -> None:
    out = CORPUS / "jpeg_reader"
    out.mkdir(parents=True, exist_ok=True)
    gray = chest((24, 32))
    rgb = np.stack([gray, gray // 2, 255 - gray], axis=-1)
    Image.fromarray(gray).save(out / "gray-baseline.jpg", quality=90)
    Image.fromarray(gray).save(out / "gray-progressive.jpg", quality=90, progressive=True)
    Image.fromarray(rgb).save(out / "ycbcr-420.jpg", quality=80, subsampling=2)
    Image.fromarray(rgb).save(out / "ycbcr-444-progressive.jpg", quality=95, subsampling=0, progressive=True)
    Image.fromarray(rgb).convert("CMYK").save(out / "cmyk.jpg")  # refused by the reader
    with io.BytesIO() as buffer:  # restart markers
        Image.fromarray(gray).save(buffer, format="JPEG", quality=75, restart_marker_blocks=1)
        (out / "gray-restart.jpg").write_bytes(buffer.getvalue())


def dicom(pixels: np.ndarray, syntax, path: Path, *, photometric="MONOCHROME2", bits_stored=None,
          preamble=True, extra=None, encoded: bytes | None = None) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1"  # CR
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[path.name])
    meta.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CR"
    ds.ViewPosition = "PA"
    ds.Rows, ds.Columns = pixels.shape[:2]
    ds.SamplesPerPixel = 3 if pixels.ndim == 3 else 1
    if pixels.ndim == 3:
        ds.PlanarConfiguration = 0
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 16 if pixels.dtype == np.uint16 else 8
    ds.BitsStored = bits_stored or ds.BitsAllocated
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 0
    for keyword, value in (extra or {}).items():
        setattr(ds, keyword, value)
    if encoded is not None:
        ds.PixelData = encapsulate([encoded])
        ds["PixelData"].VR = "OB"
    elif syntax == RLELossless:
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.PixelData = pixels.tobytes()
        ds.compress(RLELossless, encoding_plugin="pydicom", generate_instance_uid=False)
    else:
        ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=preamble, little_endian=True,
               implicit_vr=syntax == ImplicitVRLittleEndian)


def dicom_seeds() -> None:
    out = CORPUS / "dicom_reader"
    out.mkdir(parents=True, exist_ok=True)
    gray = chest((20, 24))
    gray15 = chest((20, 24), 15).astype(np.uint16)
    dicom(gray, ExplicitVRLittleEndian, out / "gray8.dcm")
    dicom(gray15, ExplicitVRLittleEndian, out / "mono1-15bit-window.dcm", photometric="MONOCHROME1", bits_stored=15,
          extra={"RescaleSlope": "2", "RescaleIntercept": "-1024", "WindowCenter": "16000",
                 "WindowWidth": "30000"})
    dicom(gray15, ImplicitVRLittleEndian, out / "implicit-vr-12bit.dcm", bits_stored=12,
          extra={"WindowCenter": ["2048", "1000"], "WindowWidth": ["4096", "1"]})
    dicom(np.stack([gray, gray // 2, 255 - gray], axis=-1), ExplicitVRLittleEndian, out / "rgb.dcm",
          photometric="RGB")
    dicom(gray, ExplicitVRLittleEndian, out / "no-preamble.dcm", preamble=False)
    dicom(gray15, RLELossless, out / "rle-16bit.dcm", bits_stored=15)
    with io.BytesIO() as buffer:
        Image.fromarray(gray).save(buffer, format="JPEG", quality=90)
        dicom(gray, JPEGBaseline8Bit, out / "jpeg-baseline.dcm", encoded=buffer.getvalue())
    with io.BytesIO() as buffer:
        Image.fromarray(gray).save(buffer, format="JPEG2000", irreversible=False, no_jp2=True)
        dicom(gray, JPEG2000Lossless, out / "jpeg2000.dcm", encoded=buffer.getvalue())


def main() -> None:
    model_seeds()
    caption_seeds()
    png_seeds()
    jpeg_seeds()
    dicom_seeds()
    for path in sorted(CORPUS.rglob("*")):
        if path.is_file():
            print(f"{path.relative_to(CORPUS)}  {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
