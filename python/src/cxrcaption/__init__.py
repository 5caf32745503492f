"""cxrcaption: chest X-ray impressions from libcxrcaption, through ctypes.

    import cxrcaption
    with cxrcaption.Model("model.safetensors") as model, model.session() as session:
        for result in session.generate("chest.dcm"):   # a path (PNG, JPEG, DICOM), a PIL image, a numpy array
            print(f"{result.score:.3f}  {result.text}")
        print(session.findings("chest.dcm"))            # {label: probability}

Images: numpy arrays (uint8 gray/RGB/RGBA, uint16, float32; float64 converted), PIL images (any common mode,
converted as Pillow's convert("L") / convert("RGB") would), paths (PNG and JPEG through Pillow, DICOM through
pydicom and cxrcaption.dicom), or raw bytes with width, height and format. See Session for the rules,
MAX_IMAGE_PIXELS for the decoded-image bound, and python/README.md.

The library is found through $CXRCAPTION_LIBRARY (a path to libcxrcaption.so), else next to this package
(CXRCAPTION_BUNDLE_LIBRARY=... pip install ./python puts it there), else on the system's library path.
Every library failure raises CXRError carrying its status and the library's message.
"""

from ._capi import (ABI_VERSION, MAX_BEAM_WIDTH, MAX_IMAGE_SIDE, MAX_LENGTH_PENALTY, MAX_TOKENS, MIN_IMAGE_SIDE,
                    CXRError, JoinRule, Photometric, PixelFormat, Status, last_error, library, library_path,
                    version)
from ._image import MAX_IMAGE_PIXELS, ImageInput, ImageTooLargeError, read_image
from ._model import Model, ModelInfo, Result, Session

__version__ = "0.1.0"

__all__ = ["ABI_VERSION", "MAX_BEAM_WIDTH", "MAX_IMAGE_PIXELS", "MAX_IMAGE_SIDE", "MAX_LENGTH_PENALTY", "MAX_TOKENS",
           "MIN_IMAGE_SIDE", "CXRError", "ImageInput", "ImageTooLargeError", "JoinRule", "Model", "ModelInfo",
           "Photometric", "PixelFormat", "Result", "Session", "Status", "last_error", "library", "library_path",
           "read_image", "version"]
