#!/usr/bin/env python3
"""Writes the image-reader fixtures of this folder (PROVENANCE.md) and cases.json, what the readers must give.

    python Tests/CXRKitTests/Fixtures/readers/make_fixtures.py

Sources: Tests/integrations/fixtures/rg1_small.dcm (the real RG1_UNCR.dcm, reduced) and, for the colour
JPEG, ../shared/data/real-cxr/misc/txv_16747_3_1.jpg when present (else the JPEG already here is kept).
Needs numpy, pydicom 3 and Pillow (the test virtualenv of `scripts/setup --tests`). Deterministic for the
DICOM files; the JPEGs depend on Pillow's libjpeg (they are committed as made, with these commands).

cases.json lists, for every reader fixture (these files and Tests/integrations/fixtures/*.dcm), the buffer
and image keywords the reference gives: python/src/cxrcaption/dicom.py on pydicom's dataset for DICOM, and
`numpy.asarray(PIL.Image.open(path))` for JPEG; the pixels as the FNV-1a 64 hash of their little-endian bytes.
"""
import copy
import io
import json
import os
import struct
import sys
import zlib

import numpy as np
import pydicom
from PIL import Image
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, RLELossless, generate_uid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "python", "src"))
from cxrcaption.dicom import dicom_image  # noqa: E402

INTEGRATIONS = os.path.join(REPO, "Tests", "integrations", "fixtures")
REAL_JPEG = os.path.join(REPO, "..", "shared", "data", "real-cxr", "misc", "txv_16747_3_1.jpg")


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def derived(source, name, rows, cols, **attributes):
    ds = copy.deepcopy(source)
    uid = generate_uid(entropy_srcs=[source.SOPInstanceUID, name])
    ds.SOPInstanceUID = uid
    ds.file_meta.MediaStorageSOPInstanceUID = uid
    ds.Rows, ds.Columns = rows, cols
    ds.DerivationDescription = f"cxrcaption reader fixture {name}, derived from rg1_small.dcm"
    for keyword in ("WindowCenter", "WindowWidth", "RescaleSlope", "RescaleIntercept", "RescaleType"):
        if keyword in ds:
            delattr(ds, keyword)
    for key, value in attributes.items():
        setattr(ds, key, value)
    return ds


def write(ds, name):
    path = os.path.join(HERE, name)
    ds.save_as(path, enforce_file_format=True)
    print(f"{name}: {os.path.getsize(path)} bytes")


def gray8_of(small, source):
    center, width = float(source.WindowCenter), float(source.WindowWidth)
    v = np.clip((small.astype(np.float64) - (center - 0.5)) / (width - 1) + 0.5, 0, 1)
    return np.round((1 - v) * 255).astype(np.uint8)


def box(array, width, height):
    return np.asarray(Image.fromarray(array).resize((width, height), Image.Resampling.BOX))


def make_files():
    source = pydicom.dcmread(os.path.join(INTEGRATIONS, "rg1_small.dcm"))
    small = source.pixel_array  # 325 x 306, 15 bits
    gray8 = gray8_of(small, source)
    rng = np.random.default_rng(14)

    # JPEG files (not DICOM): gray baseline, gray progressive, colour 4:2:0 from the real JPEG.
    gray = box(gray8, 80, 64)
    Image.fromarray(gray).save(os.path.join(HERE, "jpeg_gray.jpg"), quality=90)
    Image.fromarray(box(gray8, 72, 90)).save(os.path.join(HERE, "jpeg_gray_progressive.jpg"), quality=85,
                                            progressive=True)
    if os.path.exists(REAL_JPEG):
        with Image.open(REAL_JPEG) as real:
            crop = real.convert("RGB").crop((400, 300, 496, 372))  # 96 x 72
            crop.save(os.path.join(HERE, "jpeg_ycbcr420.jpg"), quality=85, subsampling=2)

    # Signed, 12 of 16 bits with garbage above, two frames, lateral, no rescale, a window of width 1.
    frames = []
    for f in range(2):
        values = (box(gray8, 48, 40).astype(np.int32) * 16 - 2048 + f).astype(np.int32)  # -2048 ... 2032
        garbage = rng.integers(0, 16, values.shape) << 12
        frames.append(((values & 0xFFF) | garbage).astype(np.uint16))
    ds = derived(source, "lateral_signed12_2frames.dcm", 40, 48, BitsAllocated=16, BitsStored=12, HighBit=11,
                 PixelRepresentation=1, PhotometricInterpretation="MONOCHROME2", NumberOfFrames=2,
                 ViewPosition="LL", WindowCenter="0", WindowWidth="1")
    ds.PixelData = np.stack(frames).tobytes()
    write(ds, "lateral_signed12_2frames.dcm")

    # 8 allocated / 6 stored bits with garbage above, MONOCHROME1, RescaleSlope 0 (read as 1), intercept 3.
    six = (box(gray8, 40, 36) >> 2).astype(np.uint8) | (rng.integers(0, 4, (36, 40)) << 6).astype(np.uint8)
    ds = derived(source, "mono8_bits6_slope0.dcm", 36, 40, BitsAllocated=8, BitsStored=6, HighBit=5,
                 PixelRepresentation=0, PhotometricInterpretation="MONOCHROME1", RescaleSlope="0",
                 RescaleIntercept="3", ViewPosition="AP")
    ds.PixelData = six.tobytes()
    ds["PixelData"].VR = "OB"
    write(ds, "mono8_bits6_slope0.dcm")

    # RLE, 16 allocated / 12 stored, window 2048/4000, no ViewPosition.
    twelve = (box(gray8, 56, 44).astype(np.uint16) * 16 + rng.integers(0, 16, (44, 56))).astype(np.uint16)
    ds = derived(source, "rle_mono16.dcm", 44, 56, BitsAllocated=16, BitsStored=12, HighBit=11,
                 PixelRepresentation=0, PhotometricInterpretation="MONOCHROME2", WindowCenter="2048",
                 WindowWidth="4000")
    del ds.ViewPosition
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.PixelData = twelve.tobytes()
    ds.compress(RLELossless, encoding_plugin="pydicom", generate_instance_uid=False)
    write(ds, "rle_mono16.dcm")

    # RLE, YBR_FULL colour (pydicom converts it to RGB with its formula; so must the C++ reader).
    g = box(gray8, 40, 32).astype(np.int32)
    rgb = np.stack([g, np.clip(255 - g + rng.integers(-20, 20, g.shape), 0, 255), g // 2 + 60], axis=-1)
    rgb = rgb.astype(np.uint8)
    ybr = pydicom.pixels.convert_color_space(rgb, "RGB", "YBR_FULL")
    ds = derived(source, "rle_ybr_full.dcm", 32, 40, BitsAllocated=8, BitsStored=8, HighBit=7,
                 PixelRepresentation=0, SamplesPerPixel=3, PlanarConfiguration=0,
                 PhotometricInterpretation="YBR_FULL")
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.PixelData = ybr.tobytes()
    ds["PixelData"].VR = "OB"
    ds.compress(RLELossless, encoding_plugin="pydicom", generate_instance_uid=False)
    write(ds, "rle_ybr_full.dcm")

    # JPEG baseline colour (YCbCr 4:2:0), encapsulated: YBR_FULL_422.
    with Image.open(os.path.join(HERE, "jpeg_ycbcr420.jpg")) as colour:
        buffer = io.BytesIO()
        colour.convert("RGB").resize((64, 48), Image.Resampling.BOX).save(buffer, format="JPEG", quality=90)
    ds = derived(source, "jpeg_ybr422.dcm", 48, 64, BitsAllocated=8, BitsStored=8, HighBit=7,
                 PixelRepresentation=0, SamplesPerPixel=3, PlanarConfiguration=0,
                 PhotometricInterpretation="YBR_FULL_422", LossyImageCompression="01")
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PixelData = encapsulate([buffer.getvalue()])
    ds["PixelData"].VR = "OB"
    write(ds, "jpeg_ybr422.dcm")


def make_refused():
    """Files both readers must refuse (the Swift and Python tests check the messages)."""
    source = pydicom.dcmread(os.path.join(INTEGRATIONS, "rg1_small.dcm"))
    gray8 = box(gray8_of(source.pixel_array, source), 32, 24)
    ds = derived(source, "refused_palette.dcm", 24, 32, BitsAllocated=8, BitsStored=8, HighBit=7,
                 PixelRepresentation=0, PhotometricInterpretation="PALETTE COLOR")
    ds.PixelData = gray8.tobytes()
    ds["PixelData"].VR = "OB"
    write(ds, "refused_palette.dcm")
    ds = derived(source, "refused_short_pixel_data.dcm", 24, 32, BitsAllocated=16, BitsStored=12, HighBit=11,
                 PixelRepresentation=0, PhotometricInterpretation="MONOCHROME2")
    ds.PixelData = gray8.astype(np.uint16).tobytes()[:1000]
    write(ds, "refused_short_pixel_data.dcm")
    ds = derived(source, "refused_no_bits_stored.dcm", 24, 32, BitsAllocated=8, HighBit=7,
                 PixelRepresentation=0, PhotometricInterpretation="MONOCHROME2")
    del ds.BitsStored
    ds.PixelData = gray8.tobytes()
    ds["PixelData"].VR = "OB"
    write(ds, "refused_no_bits_stored.dcm")
    Image.fromarray(gray8).convert("CMYK").save(os.path.join(HERE, "refused_cmyk.jpg"), quality=90)


def make_too_large():
    """A 206-byte PNG whose header claims 16384 x 16384 RGBA16 (2 GiB decoded): the pixel limit refuses it
    from the header. Written by hand (zlib, struct): no encoder would write so few bytes for it."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", 16384, 16384, 16, 6, 0, 0, 0)
    one_row = zlib.compress(b"\0" * (1 + 16384 * 8))
    with open(os.path.join(HERE, "too_large_16384_rgba16.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", one_row) + chunk(b"IEND", b""))


def case_of(path):
    name = os.path.relpath(path, REPO)
    if path.endswith(".dcm"):
        ds = pydicom.dcmread(path)
        pixels, keywords = dicom_image(ds)
        pixels = np.ascontiguousarray(pixels)
        fmt = {("uint8", 2): "gray8", ("uint8", 3): "rgb8", ("uint16", 2): "gray16",
               ("float32", 2): "grayf32"}[(str(pixels.dtype), pixels.ndim)]
        window = keywords.get("window")
        return {"file": name, "kind": "DICOM", "format": fmt, "width": int(pixels.shape[1]),
                "height": int(pixels.shape[0]), "bits_stored": int(keywords.get("bits_stored", 16)),
                "photometric": int(keywords.get("photometric", 0)),
                "rescale": list(map(float, keywords.get("rescale", (1.0, 0.0)))),
                "window": list(map(float, window)) if window else None,
                "view": str(ds.get("ViewPosition", "")).strip() or None,
                "fnv1a64": fnv1a64(pixels.astype(pixels.dtype.newbyteorder("<")).tobytes())}
    with Image.open(path) as image:
        pixels = np.ascontiguousarray(np.asarray(image))
    return {"file": name, "kind": "JPEG", "format": "gray8" if pixels.ndim == 2 else "rgb8",
            "width": int(pixels.shape[1]), "height": int(pixels.shape[0]), "fnv1a64": fnv1a64(pixels.tobytes())}


def main():
    make_files()
    make_refused()
    make_too_large()
    files = sorted(os.path.join(HERE, n) for n in os.listdir(HERE)
                   if n.endswith((".dcm", ".jpg")) and not n.startswith("refused_"))
    files += sorted(os.path.join(INTEGRATIONS, n) for n in os.listdir(INTEGRATIONS) if n.endswith(".dcm"))
    cases = [case_of(path) for path in files]
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")
    print(f"cases.json: {len(cases)} cases")


if __name__ == "__main__":
    main()
