"""Small numpy raster helpers for the phantom renderer (no scipy).

Everything works on float64 arrays of shape (H, W) in pixel units: x is the column, y the row.
"""
from __future__ import annotations

import numpy as np


def smoothstep(signed_distance: np.ndarray, edge: float) -> np.ndarray:
    """0 outside, 1 inside, a linear ramp of width `edge` pixels around the boundary.

    `signed_distance` is positive inside the shape."""
    return np.clip(signed_distance / max(edge, 1e-6) + 0.5, 0.0, 1.0)


def _nice_fft_size(n: int) -> int:
    for m in (256, 288, 320, 384, 512, 576, 640, 768, 1024, 1152, 1280, 1536, 2048):
        if m >= n:
            return m
    return n


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with edges extended by replication (nothing wraps around).

    Small sigmas use a direct separable kernel; large ones the FFT on a padded canvas."""
    if sigma <= 0.05:
        return image.copy()
    h, w = image.shape
    if sigma <= 2.5:
        rad = int(np.ceil(3.0 * sigma))
        k = np.exp(-0.5 * (np.arange(-rad, rad + 1) / sigma) ** 2)
        k /= k.sum()
        p = np.pad(image, ((rad, rad), (0, 0)), mode="edge")
        tmp = sum(k[i] * p[i:i + h] for i in range(2 * rad + 1))
        p = np.pad(tmp, ((0, 0), (rad, rad)), mode="edge")
        return sum(k[i] * p[:, i:i + w] for i in range(2 * rad + 1))
    pad = int(np.ceil(3.0 * sigma)) + 1
    H, W = _nice_fft_size(h + 2 * pad), _nice_fft_size(w + 2 * pad)
    py, px = (H - h) // 2, (W - w) // 2
    padded = np.pad(image, ((py, H - h - py), (px, W - w - px)), mode="edge")
    fy = np.fft.fftfreq(H)[:, None]
    fx = np.fft.rfftfreq(W)[None, :]
    transfer = np.exp(-2.0 * (np.pi * sigma) ** 2 * (fx * fx + fy * fy))
    out = np.fft.irfft2(np.fft.rfft2(padded) * transfer, s=(H, W))
    return out[py:py + h, px:px + w]


def splat_curve(target: np.ndarray, xs: np.ndarray, ys: np.ndarray, half_width: float,
                value: float, cortex: float = 0.0, reach: int = 30,
                clip: np.ndarray | None = None) -> None:
    """Adds a band of vertical profile around the curve y = ys[i] at column xs[i] (integer columns).

    The distance to the curve is measured perpendicular to it (the vertical offset times cos of the
    slope), so steep parts keep their thickness. `value` fills the band, `cortex` adds bright edges
    (bone cortex). `clip` (same shape as target) multiplies the contribution."""
    h, w = target.shape
    xs = np.asarray(xs, dtype=np.int64)
    ys = np.asarray(ys, dtype=np.float64)
    keep = (xs >= 0) & (xs < w)
    xs, ys = xs[keep], ys[keep]
    if xs.size < 2:
        return
    slope = np.gradient(ys, xs.astype(np.float64)) if xs.size > 1 else np.zeros_like(ys)
    cos = 1.0 / np.sqrt(1.0 + slope * slope)
    offsets = np.arange(-reach, reach + 1)
    rows = np.rint(ys)[:, None].astype(np.int64) + offsets[None, :]
    dist = np.abs((rows - ys[:, None]) * cos[:, None])
    prof = np.clip(half_width - dist + 0.5, 0.0, 1.0) * value
    if cortex:
        prof = prof + cortex * np.exp(-((dist - half_width + 0.8) / 1.1) ** 2)
    cols = np.broadcast_to(xs[:, None], rows.shape)
    ok = (rows >= 0) & (rows < h)
    r, c, p = rows[ok], cols[ok], prof[ok]
    if clip is not None:
        p = p * clip[r, c]
    np.add.at(target, (r, c), p)


def splat_points(target: np.ndarray, xs: np.ndarray, ys: np.ndarray, weights: np.ndarray) -> None:
    """Bilinear splat of weighted points onto the grid."""
    h, w = target.shape
    x0 = np.floor(xs).astype(np.int64)
    y0 = np.floor(ys).astype(np.int64)
    fx = xs - x0
    fy = ys - y0
    for dx, dy, wt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                       (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xx = x0 + dx
        yy = y0 + dy
        ok = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
        np.add.at(target, (yy[ok], xx[ok]), (weights * wt)[ok])


def segment_points(x0: float, y0: float, x1: float, y1: float, step: float = 0.5):
    """Points every `step` pixels along a segment."""
    n = max(2, int(np.hypot(x1 - x0, y1 - y0) / step) + 1)
    t = np.linspace(0.0, 1.0, n)
    return x0 + (x1 - x0) * t, y0 + (y1 - y0) * t


def ellipse_sd(X, Y, cx, cy, rx, ry, angle=0.0):
    """Approximate signed distance (pixels, positive inside) to a rotated ellipse."""
    ca, sa = np.cos(angle), np.sin(angle)
    u = (X - cx) * ca + (Y - cy) * sa
    v = -(X - cx) * sa + (Y - cy) * ca
    q = np.sqrt((u / rx) ** 2 + (v / ry) ** 2)
    return (1.0 - q) * min(rx, ry)


def warp_affine(image: np.ndarray, matrix: np.ndarray, fill: float | None = 0.0, order: int = 1) -> np.ndarray:
    """out[y, x] = image at (matrix @ [x, y, 1]); bilinear (order 1) or nearest (order 0).

    Outside points get `fill`, or the nearest edge pixel when fill is None."""
    h, w = image.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    sx = matrix[0, 0] * xx + matrix[0, 1] * yy + matrix[0, 2]
    sy = matrix[1, 0] * xx + matrix[1, 1] * yy + matrix[1, 2]
    if order == 0:
        ix = np.rint(sx).astype(np.int64)
        iy = np.rint(sy).astype(np.int64)
        ok = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        out = np.full_like(image, fill)
        out[ok] = image[iy[ok], ix[ok]]
        return out
    if fill is None:  # replicate the edge pixels
        sx = np.clip(sx, 0, w - 1)
        sy = np.clip(sy, 0, h - 1)
    x0 = np.floor(sx).astype(np.int64)
    y0 = np.floor(sy).astype(np.int64)
    fx = sx - x0
    fy = sy - y0
    padded = np.pad(image, 1, mode="edge" if fill is None else "constant",
                    **({} if fill is None else {"constant_values": fill}))
    x0c = np.clip(x0 + 1, 0, w + 1)
    y0c = np.clip(y0 + 1, 0, h + 1)
    x1c = np.clip(x0 + 2, 0, w + 1)
    y1c = np.clip(y0 + 2, 0, h + 1)
    out = (padded[y0c, x0c] * (1 - fx) * (1 - fy) + padded[y0c, x1c] * fx * (1 - fy)
           + padded[y1c, x0c] * (1 - fx) * fy + padded[y1c, x1c] * fx * fy)
    if fill is not None:
        outside = (sx < -1) | (sx > w) | (sy < -1) | (sy > h)
        out[outside] = fill
    return out


def smooth_noise(rng: np.random.Generator, shape, sigma: float) -> np.ndarray:
    """Blurred white noise rescaled to unit standard deviation."""
    n = gaussian_blur(rng.standard_normal(shape), sigma)
    s = n.std()
    return n / s if s > 0 else n
