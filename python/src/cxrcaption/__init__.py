"""cxrcaption: chest X-ray impressions from libcxrcaption, through ctypes.

    import numpy as np, cxrcaption
    with cxrcaption.Model("model.safetensors") as model, model.session() as session:
        for result in session.generate(pixels):        # a numpy array: uint8 gray/RGB/RGBA, uint16, float32
            print(f"{result.score:.3f}  {result.text}")
        print(session.findings(pixels))                # {label: probability}

The library is found through $CXRCAPTION_LIBRARY (a path to libcxrcaption.so), else next to this package
(CXRCAPTION_BUNDLE_LIBRARY=... pip install ./python puts it there), else on the system's library path.
Every library failure raises CXRError carrying its status and the library's message.
"""

from ._capi import (ABI_VERSION, MAX_BEAM_WIDTH, MAX_IMAGE_SIDE, MAX_LENGTH_PENALTY, MAX_TOKENS, MIN_IMAGE_SIDE,
                    CXRError, JoinRule, Photometric, PixelFormat, Status, last_error, library, library_path,
                    version)
from ._model import Model, ModelInfo, Result, Session

__version__ = "0.1.0"

__all__ = ["ABI_VERSION", "MAX_BEAM_WIDTH", "MAX_IMAGE_SIDE", "MAX_LENGTH_PENALTY", "MAX_TOKENS", "MIN_IMAGE_SIDE",
           "CXRError", "JoinRule", "Model", "ModelInfo", "Photometric", "PixelFormat", "Result", "Session", "Status",
           "last_error", "library", "library_path", "version"]
