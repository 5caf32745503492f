#!/usr/bin/env python3
"""atheris (libFuzzer) target: what the Python package hands libcxrcaption for any input a caller might pass.

    pip install atheris==3.0.0          # into a virtualenv with numpy, pillow, pydicom and the package
    CXRCAPTION_LIBRARY=/path/to/libcxrcaption.so python Tests/fuzz/python_describe.py \\
        [libFuzzer flags, e.g. -max_total_time=600 -rss_limit_mb=4096] [corpus_dir ...]
    python Tests/fuzz/python_describe.py --write-seeds Tests/fuzz/corpus/python_describe

(`cxrcaption` must be importable: installed, e.g. `pip install -e python`, or with PYTHONPATH=python/src.)

The bytes choose one call, Session.generate, preprocess or findings on the golden test model
(Tests/CXRKitTests/Fixtures/golden/model.safetensors, or $CXR_FUZZ_MODEL), and everything it is given:
- `pixels`: a numpy array of any dtype (uint8, uint16 in either byte order, float16/32/64, longdouble, the
  integer types, bool, complex, object, strings), of odd shapes (0 to 4 dimensions, empty, 1 x H x W, H x W x 1,
  channels first), as views (steps, negative steps, transposes, column crops, broadcasts, Fortran order) and
  with odd values (NaN, infinities, huge, constant); a PIL image of any of Pillow's modes (palettes included);
  a file (the bytes as a PNG, JPEG, DICOM or unknown file, by signature and/or extension: parsed by Pillow and
  pydicom); a bytes-like object (bytes, bytearray, memoryview, non-contiguous too) with width, height, format
  and row_bytes; or another type altogether (lists, None, numbers, numpy scalars, a missing path);
- every keyword (image: width, height, format, row_bytes, bits_stored, photometric, rescale, window,
  use_window, max_pixels; generation: beam_width, max_results, max_tokens, length_penalty, suppress_unknown,
  return_attention, n_threads, should_abort), each absent, sensible, or odd (NaN, infinities, 10**400,
  values just outside the C fields, strings, bools, sequences of the wrong length, objects).

Promises checked (anything else is a finding: an uncaught exception stops the fuzzer with its traceback and the
input; a crash of the library stops the process):
- every call returns, or raises CXRError (with a Status and the library's message, which is last_error()),
  ValueError or TypeError with a message; a missing path may raise FileNotFoundError, nothing else OSError;
- before the library is called, the span it will read, (height - 1) x row_bytes + width x bytes per pixel from
  `pixels`, lies inside memory the call owns (numpy's byte bounds of the buffer it hands over): the package's
  describe() is wrapped to check this on every call;
- results keep the header's promises: generate gives 1 ... max_results Result objects, scores descending,
  log-probabilities and scores finite and <= 0, token ids in range, words the token strings, attention maps
  None or (tokens, grid, grid) with rows summing to 1; preprocess an (input_size, input_size) uint8 image;
  findings {label: probability} in Model.labels order, each finite in [0, 1].

Input layout (so that seeds can be written by hand; --write-seeds writes the committed ones): byte 0 the
input kind, byte 1 the call, then two bytes per keyword (absent / sensible / odd, and which value), then the
kind's own bytes (see the make_* functions), the rest being pixel or file bytes.
"""

import io
import math
import os
import sys
import tempfile
import warnings

import atheris
import ctypes.util  # noqa: F401  (imported by the package: loaded here, so not instrumented)
import subprocess  # noqa: F401
import numpy as np
import pydicom
from PIL import Image

with atheris.instrument_imports():  # coverage feedback from the package's own code (numpy, Pillow, pydicom: not)
    import cxrcaption
    import cxrcaption._image
    import cxrcaption._model
    import cxrcaption.dicom

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = os.environ.get("CXR_FUZZ_MODEL", os.path.join(ROOT, "Tests", "CXRKitTests", "Fixtures", "golden",
                                                      "model.safetensors"))
ALLOWED = (cxrcaption.CXRError, ValueError, TypeError)
BYTES_PER_PIXEL = {1: 1, 2: 2, 3: 4, 4: 3, 5: 4}
#: Largest max_pixels a file or PIL input gets (None, "no limit", only for arrays and bytes): a file that claims
#: a huge image is refused by the package's bound; with no bound, Pillow would allocate it before finding that
#: its data is short, which is the caller's request, not a bug, and would only trip libFuzzer's memory limit.
FILE_PIXEL_CAP = 1 << 22

KINDS = ("array", "pil", "file", "bytes", "other", "missing")
CALLS = ("generate", "preprocess", "findings")


class Reader:
    """The fuzzer's bytes as a stream of choices (zeros when they run out)."""

    def __init__(self, data):
        self.data, self.at = data, 0

    def byte(self):
        value = self.data[self.at] if self.at < len(self.data) else 0
        self.at += 1
        return value

    def pick(self, values):
        return values[self.byte() % len(values)]

    def number(self, size):
        return int.from_bytes(bytes(self.byte() for _ in range(size)), "little")

    def rest(self):
        out = self.data[self.at:]
        self.at = len(self.data)
        return out


NAN, INF = float("nan"), float("inf")
#: Values no keyword expects, or only at its edges.
ODD = [None, 0, 1, -1, 2, 15, 16, 17, 63, 64, 65, 255, 1024, 1025, 16384, 16385, 2**31 - 1, 2**31, -2**31,
       -2**31 - 1, 2**32 + 16, 2**63, 2**64, -2**64, 10**400, NAN, INF, -INF, 0.0, -0.0, 0.5, 1e-308, 1e308,
       3.5e38, True, False, "", "x", "MONOCHROME1", "monochrome2", " MONOCHROME1 ", "GRAY16", "rgb8", b"\x01",
       [1, 2], (1, 2), (NAN, 2.0), (1.0, INF), (0, 0), (0, 5), (1, 2, 3), (), ("1", "2"), (10**400, 1),
       np.int64(3), np.uint64(2**64 - 1), np.float32(NAN), np.float64(2.5), np.bool_(True),
       np.array([100.0, 50.0]), np.array([[1.0], [2.0]]), object(), {"a": 1}, 1j]
SENSIBLE = {
    "width": [16, 20, 32], "height": [16, 20, 32], "format": [1, 2, 3, 4, 5, "GRAY8", cxrcaption.PixelFormat.RGB8],
    "row_bytes": [0, 20, 32, 64, 100], "bits_stored": [8, 12, 16, 1], "photometric": [0, 1, "MONOCHROME1"],
    "rescale": [(1.0, 0.0), (2.0, -100.0), (-1.0, 0.0), (1e-3, 5.0)],
    "window": [(128.0, 256.0), (2048.0, 4096.0), (100.0, 2.0), (0.5, 1.5)], "use_window": [True, False],
    "max_pixels": [100, 400, 1024, 4096, 10**6], "beam_width": [1, 2, 3, 4], "max_results": [1, 2, 3],
    "max_tokens": [1, 2, 5, 12], "length_penalty": [0.0, 0.5, 2.0, 100.0], "suppress_unknown": [False, True],
    "return_attention": [True, False], "n_threads": [0, 1, 2],
}
IMAGE_KEYWORDS = ("width", "height", "format", "row_bytes", "bits_stored", "photometric", "rescale", "window",
                  "use_window", "max_pixels")
GENERATE_KEYWORDS = ("beam_width", "max_results", "max_tokens", "length_penalty", "suppress_unknown",
                     "return_attention", "n_threads", "should_abort")


class Stop(Exception):
    """Raised by an abort callback (the package must turn it into CXRError ABORTED)."""


def abort_callbacks():
    polls = {"n": 0}

    def after_three():
        polls["n"] += 1
        return polls["n"] > 3

    def raising():
        raise Stop("stop")

    return [None, lambda: False, lambda: True, after_three, raising, lambda: np.array([1, 2]), 5, "no"]


def keyword_names(call):
    return IMAGE_KEYWORDS + {"generate": GENERATE_KEYWORDS, "findings": ("n_threads", "should_abort"),
                             "preprocess": ()}[call]


SENSIBLE_AT, ODD_AT = 200, 240


def keywords(reader, names):
    """Two bytes per keyword: the first says absent (below SENSIBLE_AT, most often), sensible (up to ODD_AT) or
    odd; the second which value. (With one odd value in 16, about a third of the calls have none.)"""
    chosen = {}
    for name in names:
        choice, which = reader.byte(), reader.byte()
        if choice < SENSIBLE_AT:
            continue
        if name == "should_abort":
            values = abort_callbacks()
        elif choice < ODD_AT and name in SENSIBLE:
            values = SENSIBLE[name]
        else:
            values = ODD
        chosen[name] = values[which % len(values)]
    return chosen


# --- Inputs ------------------------------------------------------------------------------------------------

DTYPES = [np.uint8, np.uint16, ">u2", np.float32, np.float64, np.float16, np.longdouble, ">f4", ">f8", np.int8,
          np.int16, np.int32, np.int64, np.uint32, np.uint64, bool, np.complex64, object, "U2", "V2",
          "datetime64[s]"]
SIDES = [0, 1, 2, 3, 4, 15, 16, 17, 20, 24, 31, 32, 33, 40, 64]


def make_array(reader):
    dtype = np.dtype(reader.pick(DTYPES))
    ndim = reader.pick([2, 2, 2, 3, 3, 0, 1, 4])
    shape = [reader.pick(SIDES if ndim < 4 else SIDES[:6]) for _ in range(ndim)]
    if ndim == 3:
        shape[reader.pick([2, 2, 0])] = reader.pick([1, 3, 4, 2, 5])
    fill, view = reader.byte(), reader.byte() % 10
    count = int(np.prod(shape)) if shape else 1
    if dtype.kind in "OUVM":
        array = np.zeros(shape, dtype)
    else:
        raw = reader.rest() if fill < 200 else b""
        storage = np.uint8 if dtype.kind == "b" else dtype.newbyteorder("=")
        values = np.frombuffer((raw * (count * dtype.itemsize // max(len(raw), 1) + 1))[:count * dtype.itemsize]
                               if raw else bytes(count * dtype.itemsize), dtype=storage)
        array = values.reshape(shape).copy()
        if dtype.kind == "b":
            array = array != 0
        if dtype.kind == "f" and count:
            special = [NAN, INF, -INF, 1e39, -3.5e38, 3.4028235e38, 0.0][fill % 7]
            if fill % 3 == 0:
                array.flat[fill % count] = special
            elif fill % 5 == 0:
                array[...] = special
        array = array.astype(dtype)
    # A view (the memory behind it stays the array's).
    if array.ndim >= 2:
        if view == 1:
            array = array[::2]
        elif view == 2:
            array = array[::-1]
        elif view == 3:
            array = array[:, ::-1]
        elif view == 4:
            array = array.swapaxes(0, 1)
        elif view == 5:
            array = array[1:, 2:]
        elif view == 6:
            array = np.asfortranarray(array)
        elif view == 7:
            array = np.broadcast_to(array[:1], (reader.pick([16, 20, 16385, 2**31]),) + array.shape[1:])
        elif view == 8:
            array = array[:, ::3]
    if view == 9:
        array = array[None]
    return array


PIL_MODES = ["1", "L", "LA", "La", "P", "PA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F", "RGB", "RGBA", "RGBa",
             "RGBX", "CMYK", "YCbCr", "LAB", "HSV"]


def make_pil(reader):
    mode = reader.pick(PIL_MODES)
    size = (reader.pick(SIDES), reader.pick(SIDES))
    needed = len(Image.new(mode, size).tobytes())
    raw = reader.rest()
    data = (raw * (needed // max(len(raw), 1) + 1))[:needed] if raw else bytes(needed)
    image = Image.frombytes(mode, size, data)
    if mode in ("P", "PA") and raw:
        image.putpalette((raw * (768 // len(raw) + 1))[:768])
    return image


SIGNATURES = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", bytes(128) + b"DICM"]
EXTENSIONS = ["", ".png", ".jpg", ".dcm", ".dicom", ".txt", ".PNG"]


def make_file(reader, folder):
    """The rest of the bytes as a file: a signature may be put in front (seeds hold whole files already)."""
    signature, extension = reader.pick(SIGNATURES), reader.pick(EXTENSIONS)
    content = reader.rest()
    if not content.startswith(signature):
        content = signature + content
    path = os.path.join(folder, "input" + extension)
    with open(path, "wb") as file:
        file.write(content)
    return path


def make_bytes(reader, chosen):
    """Raw pixels; width, height, format and row_bytes consistent with them unless the keywords replace them."""
    pixel_format = reader.pick([1, 2, 3, 4, 5])
    width, height = reader.pick(SIDES + [100]), reader.pick(SIDES + [100])
    pad = reader.pick([0, 0, 1, 3, 8])
    short = reader.pick([0, 0, 0, 1, 7])
    step = width * BYTES_PER_PIXEL[pixel_format] + pad
    size = max(step * max(height - 1, 0) + width * BYTES_PER_PIXEL[pixel_format] - short, 0)
    container = reader.byte() % 4
    raw = reader.rest()
    data = (raw * (size // max(len(raw), 1) + 1))[:size] if raw else bytes(size)
    if pixel_format == 3 and data:  # mostly finite floats, so that some calls get through
        floats = np.frombuffer(data[:len(data) // 4 * 4], np.uint8).astype(np.float32) / 7
        data = floats.tobytes() + data[len(data) // 4 * 4:]
    for name, value in (("width", width), ("height", height), ("format", pixel_format),
                        ("row_bytes", step if pad else 0)):
        chosen.setdefault(name, value)
    if container == 1:
        return bytearray(data)
    if container == 2:
        return memoryview(data)
    if container == 3:  # a non-contiguous view: every other byte of twice the data
        doubled = np.repeat(np.frombuffer(data, np.uint8), 2)
        return memoryview(doubled)[::2]
    return data


def make_other(reader):
    return reader.pick([[1, 2, 3], [[1, 2], [3, 4]], None, 3, 2.5, {"a": 1}, (16, 16), np.float64(1.0),
                        np.uint8(3), object(), 1j, b"", bytearray(), memoryview(b"abc")[1:], io.BytesIO(b"x"),
                        range(10), np.ma.masked_array(np.zeros((20, 20), np.uint8)), np.matrix(np.eye(20))])


# --- The promises ------------------------------------------------------------------------------------------

def checked_describe(original):
    """describe(), also checking that the span the library reads lies inside the memory handed over."""
    bounds = getattr(np.lib, "array_utils", np).byte_bounds

    def describe(*args, **kwargs):
        image, owner = original(*args, **kwargs)
        pixel_bytes = BYTES_PER_PIXEL.get(image.format)
        if pixel_bytes is not None and image.width >= 1 and image.height >= 1 and image.pixels:
            step = image.row_bytes or image.width * pixel_bytes
            needed = (image.height - 1) * step + image.width * pixel_bytes
            low, high = bounds(owner)
            if not (low <= image.pixels and image.pixels + needed <= high):
                raise AssertionError(f"the library would read {needed} bytes from {image.pixels:#x}, outside "
                                     f"the buffer [{low:#x}, {high:#x}) of {type(owner).__name__}")
        return image, owner
    return describe


def check_results(call, out, model, chosen):
    info = model.info
    if call == "preprocess":
        assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == (info.input_size,) * 2
    elif call == "findings":
        assert list(out) == model.labels, out
        assert all(isinstance(p, float) and math.isfinite(p) and 0 <= p <= 1 for p in out.values()), out
    else:
        beam = chosen.get("beam_width", 3)
        most = chosen.get("max_results", beam)
        most = beam if most is None else most
        assert isinstance(out, list) and 1 <= len(out) <= int(most), (len(out), most)
        for a, b in zip(out, out[1:]):
            assert a.score >= b.score, (a.score, b.score)
        for r in out:
            assert isinstance(r, cxrcaption.Result) and isinstance(r.text, str)
            assert math.isfinite(r.log_prob) and r.log_prob <= 0, r.log_prob
            assert math.isfinite(r.score) and r.score <= 0, r.score
            assert all(0 <= t < info.vocab_size for t in r.tokens), r.tokens
            assert r.words == [model.token(t) for t in r.tokens]
            if r.attention is not None:
                assert r.attention.shape == (len(r.tokens), info.attention_grid, info.attention_grid)
                assert np.all(np.isfinite(r.attention))
                assert np.allclose(r.attention.sum(axis=(1, 2)), 1, atol=1e-3)


def check_error(error):
    assert str(error), f"{type(error).__name__} without a message"
    if isinstance(error, cxrcaption.CXRError):
        assert isinstance(error.status, cxrcaption.Status) and error.status != cxrcaption.Status.OK, error.status
        assert error.message and error.message == cxrcaption.last_error(), (error.message, cxrcaption.last_error())
        assert error.status != cxrcaption.Status.INTERNAL, error.message


MODEL_STATE = {}
#: With CXR_FUZZ_STATS=1: (kind, call, outcome) -> count, printed after 2**k calls (k >= 12): how deep the
#: inputs get (libFuzzer ends the process without running exit handlers).
STATS = {} if os.environ.get("CXR_FUZZ_STATS") == "1" else None


def tally(kind, call, outcome):
    if STATS is not None:
        key = (kind, call, outcome)
        STATS[key] = STATS.get(key, 0) + 1
        total = sum(STATS.values())
        if total >= 4096 and total & (total - 1) == 0:
            print_stats()


def print_stats():
    total = sum(STATS.values())
    print(f"\n{total} calls by input kind, call and outcome:", file=sys.stderr)
    for (kind, call, outcome), count in sorted(STATS.items()):
        print(f"  {kind:8} {call:10} {outcome:22} {count:8}  {100 * count / total:5.1f}%", file=sys.stderr)


def one_input(data):
    model, session, folder = MODEL_STATE["model"], MODEL_STATE["session"], MODEL_STATE["folder"]
    reader = Reader(data)
    kind, call = reader.pick(KINDS), reader.pick(CALLS)
    chosen = keywords(reader, keyword_names(call))
    try:
        if kind == "array":
            pixels = make_array(reader)
        elif kind == "pil":
            pixels = make_pil(reader)
        elif kind == "file":
            pixels = make_file(reader, folder)
        elif kind == "bytes":
            pixels = make_bytes(reader, chosen)
        elif kind == "other":
            pixels = make_other(reader)
        else:
            pixels = os.path.join(folder, "does-not-exist.png")
    except (ValueError, TypeError, MemoryError):
        tally(kind, call, "not built")
        return  # the harness could not build this input (e.g. a PIL mode that cannot have this size)
    if kind in ("pil", "file"):
        limit = chosen.get("max_pixels", cxrcaption.MAX_IMAGE_PIXELS)
        if limit is None or isinstance(limit, (int, np.integer)) and not isinstance(limit, (bool, np.bool_)) \
                and int(limit) > FILE_PIXEL_CAP:
            chosen["max_pixels"] = FILE_PIXEL_CAP
    try:
        out = getattr(session, call)(pixels, **chosen)
    except ALLOWED as error:
        check_error(error)
        tally(kind, call, f"CXRError {error.status.name}" if isinstance(error, cxrcaption.CXRError)
              else type(error).__name__)
        return
    except FileNotFoundError:
        if kind == "missing":
            tally(kind, call, "FileNotFoundError")
            return
        raise
    check_results(call, out, model, chosen)
    tally(kind, call, "ok")


# --- Seeds -------------------------------------------------------------------------------------------------

def write_seeds(folder):
    """The committed seeds (Tests/fuzz/corpus/python_describe): one per input kind, valid where it can be."""
    os.makedirs(folder, exist_ok=True)
    gradient = (np.add.outer(np.arange(24), np.arange(32)) * 5 % 251).astype(np.uint8)

    def file_bytes(image, **save):
        out = io.BytesIO()
        image.save(out, **save)
        return out.getvalue()

    def dicom_bytes():
        ds = pydicom.Dataset()
        ds.file_meta = pydicom.dataset.FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = pydicom.uid.SecondaryCaptureImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
        ds.SOPClassUID, ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPClassUID, "1.2.3.4"
        ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 24, 32, 1, "MONOCHROME1"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.WindowCenter, ds.WindowWidth, ds.RescaleSlope, ds.RescaleIntercept = "2048", "4000", "1", "0"
        ds.PixelData = (gradient.astype(np.uint16) * 16).tobytes()
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
        return out.getvalue()

    def seed(name, kind, call, head, tail=b"", chosen=None):
        """`chosen`: {keyword: (class byte, value byte)}; the others absent."""
        block = b"".join(bytes((chosen or {}).get(n, (0, 0))) for n in keyword_names(call))
        with open(os.path.join(folder, name), "wb") as file:
            file.write(bytes([KINDS.index(kind), CALLS.index(call)]) + block + bytes(head) + tail)

    dtype = DTYPES.index
    seed("array_uint8_generate", "array", "generate", [dtype(np.uint8), 0, 8, 11, 250, 0])  # 24 x 32, filled
    seed("array_uint8_pixels", "array", "preprocess", [dtype(np.uint8), 0, 8, 11, 1, 0], gradient.tobytes())
    seed("array_float64_nan", "array", "preprocess", [dtype(np.float64), 0, 8, 11, 3, 0], gradient.tobytes())
    seed("array_rgb_strided", "array", "findings", [dtype(np.uint8), 3, 8, 11, 5, 0, 1, 1, 5],
         np.repeat(gradient, 3).tobytes())
    seed("pil_palette", "pil", "generate", [PIL_MODES.index("P"), 11, 8], gradient.tobytes())
    seed("pil_i16", "pil", "preprocess", [PIL_MODES.index("I;16B"), 11, 8], (gradient.astype(">u2") * 99).tobytes())
    seed("file_png", "file", "generate", [0, 1], file_bytes(Image.fromarray(gradient), format="PNG"))
    seed("file_jpeg", "file", "preprocess", [0, 2], file_bytes(Image.fromarray(gradient).convert("RGB"),
                                                               format="JPEG", quality=80))
    seed("file_dicom", "file", "generate", [0, 3], dicom_bytes())
    seed("bytes_gray16_padded", "bytes", "preprocess", [1, 11, 8, 2, 0, 1], (gradient.astype(np.uint16) * 40)
         .tobytes())
    seed("bytes_short", "bytes", "findings", [0, 8, 8, 0, 3, 0], gradient.tobytes())
    seed("other_list", "other", "generate", [0])
    seed("array_odd_keywords", "array", "generate", [dtype(np.uint16), 0, 8, 11, 1, 0],
         gradient.astype(np.uint16).tobytes(),
         chosen={"bits_stored": (SENSIBLE_AT, 1), "photometric": (SENSIBLE_AT, 2),
                 "rescale": (ODD_AT, ODD.index((0, 5))), "window": (ODD_AT, ODD.index((NAN, 2.0))),
                 "beam_width": (ODD_AT, 9), "length_penalty": (ODD_AT, 26), "should_abort": (SENSIBLE_AT, 3)})
    seed("bytes_gray8_described", "bytes", "generate", [0, 8, 8, 1, 0, 0], gradient.tobytes(),
         chosen={"photometric": (SENSIBLE_AT, 2), "window": (SENSIBLE_AT, 0), "beam_width": (SENSIBLE_AT, 1),
                 "max_tokens": (SENSIBLE_AT, 3)})
    print(f"wrote {len(os.listdir(folder))} seeds to {folder}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--write-seeds":
        write_seeds(sys.argv[2])
        return
    warnings.simplefilter("ignore")  # Pillow's and pydicom's warnings about odd files are not findings
    model = cxrcaption.Model(MODEL)
    MODEL_STATE.update(model=model, session=model.session(),
                       folder=tempfile.mkdtemp(prefix="cxrcaption-fuzz-"))
    cxrcaption._model.describe = checked_describe(cxrcaption._image.describe)
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
