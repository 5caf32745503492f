"""Image intake, version 1, in numpy: the definition the trainer uses and the Swift core reproduces bit for bit.

docs/INTAKE.md defines every step; ``Sources/CXRKit/Intake/`` is the Swift implementation. The pipeline:

1. read: uint8 gray, uint16 gray (``bits_stored`` low bits kept), float32 gray, uint8 RGB / RGBA (alpha ignored;
   gray = (299 R + 587 G + 114 B + 500) // 1000);
2. modality ``x = stored * slope + intercept`` (float64), then the DICOM linear VOI window, or without a window
   the image's own min..max (8-bit input: x / 255), clipped to [0, 1];
3. MONOCHROME1: v -> 1 - v; then the 16-bit level ``floor(v * 65535 + 0.5)``; an image whose pixels all have
   one level is refused (as is a rescale slope of 0);
4. resize to size x size with exact integer weights (area averaging when shrinking, half-pixel bilinear when
   enlarging);
5. quantize (round half up) to 8 bits and equalize the histogram (OpenCV's equalizeHist, in integers);
6. model input: x / 255, (x - mean) / std in float32, CHW.

Only numpy is needed (no torch), so the parity tests run in a small virtualenv.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

__all__ = [
    "VERSION",
    "IntakeError",
    "equalized_image",
    "model_input",
    "luma",
    "resize_weights",
]

#: Pipeline version computed here (a model's ``preprocessing`` metadata must match).
VERSION = 1

SIDE_LIMITS = (16, 16384)
SIZE_LIMITS = (1, 4096)


class IntakeError(ValueError):
    """A buffer or parameter the pipeline does not accept (the Swift side throws CXRError with the same text)."""


def luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601-2 luma of uint8 RGB(A) pixels (..., >=3) in integers, rounded half up."""
    r = rgb[..., 0].astype(np.int64)
    g = rgb[..., 1].astype(np.int64)
    b = rgb[..., 2].astype(np.int64)
    return (299 * r + 587 * g + 114 * b + 500) // 1000


def resize_weights(source: int, target: int) -> Tuple[int, list]:
    """(denominator, taps) for one axis; taps[t] is a list of (source index, integer weight) for output t.

    source >= target: area averaging; in units of 1/target input pixel, output t covers [t*source, (t+1)*source)
    and input k covers [k*target, (k+1)*target); weight = overlap, denominator = source.
    source < target: bilinear, half-pixel centers; numerator = (2t+1)*source - target, x = numerator / (2*target)
    clamped to [0, source-1]; weights 2*target - r on floor(x) and r on floor(x)+1; denominator = 2*target.
    """
    taps = []
    if source >= target:
        for t in range(target):
            low, high = t * source, (t + 1) * source
            row = []
            k = low // target
            while k * target < high:
                overlap = min(high, (k + 1) * target) - max(low, k * target)
                if overlap > 0:
                    row.append((k, overlap))
                k += 1
            taps.append(row)
        return source, taps
    for t in range(target):
        numerator = (2 * t + 1) * source - target
        first, remainder = 0, 0
        if numerator > 0:
            first, remainder = divmod(numerator, 2 * target)
        if first >= source - 1:
            first, remainder = source - 1, 0
        row = [(first, 2 * target - remainder)]
        if remainder > 0:
            row.append((first + 1, remainder))
        taps.append(row)
    return 2 * target, taps


def _check_float(name: str, value: float) -> float:
    value = float(value)
    if not np.isfinite(value):
        raise IntakeError(f"image {name} {value} is not finite")
    return value


def _levels(values: np.ndarray, *, slope: float, intercept: float, window: Optional[Tuple[float, float]],
            eight_bit: bool, value_range: Optional[Tuple[float, float]], invert: bool) -> np.ndarray:
    """16-bit levels (int64) of stored values (float64 array); the same IEEE operations, in the same order, as
    IntensityMapping.level(stored:) in Swift."""
    x = values * slope + intercept
    if window is not None:
        center_low = window[0] - 0.5
        width_less_1 = window[1] - 1.0
        v = (x - center_low) / width_less_1 + 0.5
    elif eight_bit:
        v = x / 255.0
    else:
        minimum, maximum = value_range
        span = maximum - minimum
        v = np.zeros_like(x) if span == 0 else (x - minimum) / span
    v = np.minimum(np.maximum(v, 0.0), 1.0)
    if invert:
        v = 1.0 - v
    return np.floor(v * 65535.0 + 0.5).astype(np.int64)


def _gray_levels(array: np.ndarray, *, bits_stored: int, photometric: str, rescale_slope: float,
                 rescale_intercept: float, window: Optional[Tuple[float, float]]) -> np.ndarray:
    """Steps 1-3: a (height, width) int64 array of levels 0..65535."""
    if array.ndim not in (2, 3):
        raise IntakeError(f"image array has {array.ndim} dimensions; expected 2 (gray) or 3 (RGB/RGBA)")
    height, width = array.shape[:2]
    lo, hi = SIDE_LIMITS
    if not lo <= width <= hi:
        raise IntakeError(f"image width {width} is outside {lo}...{hi}")
    if not lo <= height <= hi:
        raise IntakeError(f"image height {height} is outside {lo}...{hi}")
    slope = _check_float("rescale_slope", rescale_slope)
    if slope == 0:
        raise IntakeError("image rescale_slope is 0, which maps every pixel to the intercept (DICOM's "
                          "RescaleSlope is 1 when absent)")
    intercept = _check_float("rescale_intercept", rescale_intercept)
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise IntakeError(f"image photometric interpretation {photometric!r} is not MONOCHROME1 or MONOCHROME2")
    invert = photometric == "MONOCHROME1"
    if window is not None:
        center = _check_float("window center", window[0])
        width_w = float(window[1])
        if not (np.isfinite(width_w) and width_w > 1):
            raise IntakeError(f"image window width {width_w} must be a finite number greater than 1 "
                              "(pass no window to use the image's own range)")
        window = (center, width_w)

    if array.ndim == 3:
        if array.dtype != np.uint8 or array.shape[2] not in (3, 4):
            raise IntakeError(f"color image must be uint8 RGB or RGBA, got {array.dtype} with "
                              f"{array.shape[2]} channels")
        stored = luma(array)
        kind = "8"
    elif array.dtype == np.uint8:
        stored = array.astype(np.int64)
        kind = "8"
    elif array.dtype == np.uint16:
        if not 1 <= bits_stored <= 16:
            raise IntakeError(f"image bits_stored {bits_stored} is outside 1...16")
        stored = (array & np.uint16((1 << bits_stored) - 1)).astype(np.int64)
        kind = "16"
    elif array.dtype == np.float32:
        kind = "f"
    else:
        raise IntakeError(f"image dtype {array.dtype} is not uint8, uint16 or float32")

    if kind == "f":
        samples = array.astype(np.float64)
        bad = ~np.isfinite(samples)
        if bad.any():
            y, x = (int(i) for i in np.argwhere(bad)[0])
            raise IntakeError(f"image pixel ({x}, {y}) is {samples[y, x]}; GRAYF32 samples must be finite")
        x_values = samples * slope + intercept
        bad = ~np.isfinite(x_values)
        if bad.any():
            y, x = (int(i) for i in np.argwhere(bad)[0])
            raise IntakeError(f"image pixel ({x}, {y}) = {samples[y, x]} x rescale_slope {slope} + "
                              f"rescale_intercept {intercept} is not finite")
        value_range = (float(x_values.min()), float(x_values.max()))
        if not np.isfinite(value_range[1] - value_range[0]):
            raise IntakeError(f"image value range {value_range[0]}...{value_range[1]} is too wide to normalize")
        return _levels(samples, slope=slope, intercept=intercept, window=window, eight_bit=False,
                       value_range=value_range, invert=invert)

    largest = 255 if kind == "8" else (1 << bits_stored) - 1
    if not np.isfinite(float(largest) * slope + intercept):
        raise IntakeError(f"image rescale_slope {slope} x {float(largest)} + rescale_intercept {intercept} "
                          "is not finite")
    value_range = None
    if window is None and kind == "16":
        x_values = stored.astype(np.float64) * slope + intercept
        value_range = (float(x_values.min()), float(x_values.max()))
        if not np.isfinite(value_range[1] - value_range[0]):
            raise IntakeError(f"image value range {value_range[0]}...{value_range[1]} is too wide to normalize")
    table = _levels(np.arange(largest + 1, dtype=np.float64), slope=slope, intercept=intercept, window=window,
                    eight_bit=kind == "8", value_range=value_range, invert=invert)
    return table[stored]


def _resize_to_eight_bit(levels: np.ndarray, size: int) -> np.ndarray:
    """Steps 4 and 5a: exact integer resize, then round half up to 8 bits."""
    height, width = levels.shape
    dx, taps_x = resize_weights(width, size)
    dy, taps_y = resize_weights(height, size)
    columns = np.ascontiguousarray(levels.T)  # (width, height)
    row_sums = np.zeros((size, height), dtype=np.int64)  # transposed: output column t, input row y
    for t, row in enumerate(taps_x):
        for k, w in row:
            row_sums[t] += w * columns[k]
    row_sums = np.ascontiguousarray(row_sums.T)  # (height, size)
    sums = np.zeros((size, size), dtype=np.int64)
    for t, row in enumerate(taps_y):
        for y, w in row:
            sums[t] += w * row_sums[y]
    divisor = dx * dy * 257
    return ((2 * sums + divisor) // (2 * divisor)).astype(np.uint8)


def equalization_table(image: np.ndarray) -> np.ndarray:
    """OpenCV equalizeHist in integers: lut[v] = round_half_up((cdf[v] - cdf_min) * 255 / (N - cdf_min));
    identity for a constant image."""
    histogram = np.bincount(image.ravel(), minlength=256).astype(np.int64)
    total = int(image.size)
    nonzero = np.flatnonzero(histogram)
    identity = np.arange(256, dtype=np.uint8)
    if nonzero.size == 0:
        return identity
    cdf_min = int(histogram[nonzero[0]])
    span = total - cdf_min
    if span == 0:
        return identity
    above = np.maximum(np.cumsum(histogram) - cdf_min, 0)
    return ((above * 510 + span) // (2 * span)).astype(np.uint8)


def equalized_image(array: np.ndarray, *, bits_stored: int = 16, photometric: str = "MONOCHROME2",
                    rescale_slope: float = 1.0, rescale_intercept: float = 0.0,
                    window: Optional[Tuple[float, float]] = None, size: int = 256) -> np.ndarray:
    """The size x size uint8 equalized image of ``array`` (what the model sees).

    array: 2-D uint8 / uint16 / float32 gray, or 3-D uint8 RGB / RGBA (H, W, 3|4). ``bits_stored`` applies to
    uint16 only. ``window`` is (center, width) with width > 1, or None. ``photometric`` is "MONOCHROME1" or
    "MONOCHROME2" (RGB input should use MONOCHROME2).
    """
    if not isinstance(size, (int, np.integer)) or not SIZE_LIMITS[0] <= size <= SIZE_LIMITS[1]:
        raise IntakeError(f"input size {size} is outside {SIZE_LIMITS[0]}...{SIZE_LIMITS[1]}")
    array = np.asarray(array)
    levels = _gray_levels(array, bits_stored=bits_stored, photometric=photometric, rescale_slope=rescale_slope,
                          rescale_intercept=rescale_intercept, window=window)
    if levels.min() == levels.max():
        raise IntakeError(f"image is constant after the modality and VOI steps: every pixel maps to level "
                          f"{int(levels.flat[0])} of 65535 (a blank image, or a window that no pixel falls inside)")
    image = _resize_to_eight_bit(levels, int(size))
    return equalization_table(image)[image]


def model_input(equalized: np.ndarray, *, mean: Sequence[float] = (0.5,), std: Sequence[float] = (0.25,),
                in_channels: int = 1) -> np.ndarray:
    """Step 6: float32 (in_channels, size, size): x / 255, then (x - mean[c]) / std[c]; the gray plane is
    replicated. mean and std have 1 or in_channels entries."""
    equalized = np.asarray(equalized)
    if equalized.dtype != np.uint8 or equalized.ndim != 2:
        raise IntakeError("equalized image must be a 2-D uint8 array")
    if len(mean) not in (1, in_channels) or len(std) not in (1, in_channels):
        raise IntakeError(f"mean and std need 1 or {in_channels} entries")
    x = equalized.astype(np.float32) / np.float32(255)
    planes = []
    for c in range(in_channels):
        m = np.float32(mean[0 if len(mean) == 1 else c])
        s = np.float32(std[0 if len(std) == 1 else c])
        planes.append((x - m) / s)
    return np.stack(planes).astype(np.float32)
