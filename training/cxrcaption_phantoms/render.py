"""Chest radiograph phantom renderer (PA view), numpy only.

    from cxrcaption_phantoms.render import render
    result = render([Finding("pleural_effusion", side="right", severity="small")], seed=7)
    result.image      # (512, 512) uint16, bright = dense (MONOCHROME2)
    result.masks      # list of (Finding, bool mask (512, 512)), one per finding, same geometry as image

The image is built as a brightness map in [0, 1] (0 = direct exposure, 1 = metal) from analytic
anatomy with random variation (patient size, lung shape, diaphragm, heart, mediastinum, ribs, clavicles,
spine, vessels, soft tissue), then the findings are drawn, then exposure, blur, slight rotation and
shift, and noise are applied. Image and masks go through the same final warp. Everything is drawn from
`numpy.random.default_rng([seed, part])` streams, one per part (anatomy, bones, ..., each finding): the
same findings and seed give the same image bit for bit, and adding a local finding to a seed leaves the rest
of the image as it was (the difference is confined to the finding).

Conventions: the patient's right is on the image left (PA view). `side="right"` is the patient's right.

CLI: cxrcaption-render-phantoms --out DIR [--seed N] [--findings 'kind:side:zone:severity,...'] [--samples]
(or `python -m cxrcaption_phantoms.render ...`)
"""
from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass, field

import numpy as np

from .findings import Finding, KINDS
from .raster import (ellipse_sd, gaussian_blur, segment_points, smooth_noise, smoothstep,
                     splat_curve, splat_points, warp_affine)

SIZE = 512
RIGHT, LEFT = -1, +1  # image-x direction of the patient's right / left lung from the midline


def _side_signs(side: str | None) -> list[int]:
    if side == "right":
        return [RIGHT]
    if side == "left":
        return [LEFT]
    return [RIGHT, LEFT]


@dataclass
class RenderResult:
    image: np.ndarray                      # uint16 (SIZE, SIZE)
    masks: list                            # [(Finding, bool ndarray)]
    meta: dict = field(default_factory=dict)


def _by_row(fn, Y):
    """fn(Y) for a function of y only: evaluated once per row when Y is constant along rows."""
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 2 and Y.shape[1] > 1 and np.array_equal(Y[:, :1].repeat(Y.shape[1], 1), Y):
        return np.broadcast_to(fn(Y[:, 0])[:, None], Y.shape)
    return fn(Y)


class _Anatomy:
    """Random patient geometry. All lengths in pixels of the SIZE x SIZE canvas before the final warp."""

    def __init__(self, rng: np.random.Generator, findings: list[Finding], stream=None):
        self.rng = rng
        kinds = {f.kind: f for f in findings}
        stream = stream or (lambda name: rng)
        r = rng.uniform
        self.size = r(0.9, 1.07)
        self.cx = SIZE / 2 + rng.normal(0, 3)
        W = 182 * self.size
        self.W = {RIGHT: W * r(0.97, 1.02), LEFT: W * r(0.98, 1.03)}
        self.soft = r(14, 34) * self.size ** 2
        self.y_apex = r(60, 80)
        ycp = r(392, 418)
        self.y_cp = {RIGHT: ycp, LEFT: ycp + r(2, 14)}
        rise = r(38, 56)
        self.rise = {RIGHT: rise, LEFT: rise * r(0.75, 0.95)}
        self.lucency = 1.0
        self.ctr = r(0.40, 0.47)
        if "hyperinflation" in kinds:
            r = stream("hyperinflation").uniform
            sev = 1.0 if kinds["hyperinflation"].severity != "mild" else 0.7
            for s in (RIGHT, LEFT):
                self.y_cp[s] += r(28, 42) * sev
                self.rise[s] *= 1 - 0.7 * sev
                self.W[s] *= 1 + 0.03 * sev
            self.y_apex -= 6 * sev
            self.lucency = 1 + 0.16 * sev
            self.ctr *= 0.9
        if "hypoinflation" in kinds:
            r = stream("hypoinflation").uniform
            sev = 1.0 if kinds["hypoinflation"].severity != "mild" else 0.7
            for s in (RIGHT, LEFT):
                self.y_cp[s] -= r(38, 52) * sev
                self.rise[s] *= 1 + 0.15 * sev
            self.lucency = 1 - 0.12 * sev
            self.ctr *= 1.06
        if "elevated_hemidiaphragm" in kinds:
            r = stream("elevated_hemidiaphragm").uniform
            f = kinds["elevated_hemidiaphragm"]
            sev = 1.0 if f.severity != "mild" else 0.6
            for s in _side_signs(f.side if f.side != "bilateral" else None)[:1] if f.side else [RIGHT]:
                self.y_cp[s] -= r(22, 34) * sev
                self.rise[s] += r(12, 22) * sev
        if "cardiomegaly" in kinds:
            r = stream("cardiomegaly").uniform
            self.ctr = {"borderline": r(0.50, 0.53), "mild": r(0.55, 0.60), None: r(0.56, 0.64),
                        "moderate": r(0.62, 0.68), "severe": r(0.69, 0.75)}[kinds["cardiomegaly"].severity]
        r = rng.uniform
        self.d_peak = {s: self.W[s] * r(0.38, 0.5) for s in (RIGHT, LEFT)}
        self.medial_drop = {s: r(8, 22) for s in (RIGHT, LEFT)}
        self.d_apex = {s: self.W[s] * r(0.4, 0.5) for s in (RIGHT, LEFT)}
        self.apex_len = r(55, 75)
        # mediastinum and aorta
        self.med = {RIGHT: r(26, 34) * self.size, LEFT: r(24, 32) * self.size}
        self.y_knob = self.y_apex + r(95, 115)
        self.knob_r = r(15, 20)
        self.knob_bulge = r(5, 9)
        self.aorta_tortuous = 0.0
        if "tortuous_aorta" in kinds:
            r = stream("tortuous_aorta").uniform
            self.aorta_tortuous = 1.0 if kinds["tortuous_aorta"].severity != "mild" else 0.6
            self.knob_bulge += r(9, 15) * self.aorta_tortuous
            self.knob_r += 4 * self.aorta_tortuous
            self.y_knob -= 8 * self.aorta_tortuous
            r = rng.uniform
        self.y_carina = self.y_knob + r(25, 38)
        # heart
        wavg = (self.W[RIGHT] + self.W[LEFT]) / 2
        width = self.ctr * 2 * wavg
        frac_r = r(0.28, 0.36)
        self.heart_r = width * frac_r
        self.heart_l = width * (1 - frac_r)
        self.heart_top_r = self.y_knob + r(50, 70)
        self.heart_top_l = self.y_knob + r(38, 52)
        self.heart_bottom = {s: self.y_dome(s) + r(18, 30) for s in (RIGHT, LEFT)}
        # spine
        self.scoliosis = 0.0
        if "scoliosis" in kinds:
            r = stream("scoliosis").uniform
            f = kinds["scoliosis"]
            amp = r(14, 20) if f.severity != "mild" else r(8, 12)
            sign = RIGHT if f.side != "left" else LEFT
            self.scoliosis = sign * amp
        self.y_hilum = {RIGHT: self.y_carina + r(18, 30), LEFT: self.y_carina + r(5, 18)}

    # --- curves -------------------------------------------------------------------------------------
    def y_dome(self, s):
        return self.y_cp[s] - self.rise[s]

    def spine_x(self, y):
        t = np.clip((np.asarray(y, dtype=float) - self.y_apex) / (self.y_cp[RIGHT] - self.y_apex), 0, 1.3)
        return self.cx + self.scoliosis * np.sin(np.pi * t)

    def mediastinum(self, s, y):
        """Half-width of the mediastinum + heart on side s at rows y (distance from the midline)."""
        y = np.asarray(y, dtype=float)
        m = np.full_like(y, self.med[s])
        m += 4 * np.clip((y - self.y_knob) / 60, 0, 1)  # widening towards the heart
        if s == LEFT:
            m += self.knob_bulge * np.exp(-((y - self.y_knob) / (self.knob_r * 1.3)) ** 2)
            m += 5 * np.exp(-((y - self.y_knob - 38) / 12) ** 2)  # pulmonary trunk
            if self.aorta_tortuous:
                m += 10 * self.aorta_tortuous * np.exp(-((y - self.y_knob - 80) / 35) ** 2)
        else:
            m += 4 * np.exp(-((y - self.y_knob + 10) / 30) ** 2)  # SVC / ascending aorta
        top = self.heart_top_r if s == RIGHT else self.heart_top_l
        hw = self.heart_r if s == RIGHT else self.heart_l
        bottom = self.heart_bottom[s]
        peak = 0.62 if s == RIGHT else 0.74
        t = np.clip((y - top) / max(bottom - top, 1.0), 0, 1)
        rise = np.sin(0.5 * np.pi * np.clip(t / peak, 0, 1)) ** 0.7
        fall = 1 - 0.12 * (np.clip(t - peak, 0, None) / (1 - peak)) ** 2
        heart = hw * np.where(t < peak, rise, fall) * (y >= top)
        return np.maximum(m, heart)

    def lateral(self, s, y):
        y = np.asarray(y, dtype=float)
        t = np.clip((y - self.y_apex) / (self.y_cp[s] - self.y_apex), 0, 1)
        g = np.sqrt(1 - (1 - t) ** 2)
        return self.d_apex[s] + (self.W[s] - self.d_apex[s]) * g

    def medial(self, s, y):
        y = np.asarray(y, dtype=float)
        m = self.mediastinum(s, y)
        t = np.clip((y - self.y_apex) / self.apex_len, 0, 1)
        g = np.sqrt(1 - (1 - t) ** 2)
        return self.d_apex[s] - (self.d_apex[s] - m) * g

    def diaphragm(self, s, d):
        d = np.asarray(d, dtype=float)
        yd = self.y_dome(s)
        lat = yd + self.rise[s] * np.clip((d - self.d_peak[s]) / (self.W[s] - self.d_peak[s]), 0, 3) ** 2.2
        med = yd + self.medial_drop[s] * np.clip((self.d_peak[s] - d) / self.d_peak[s], 0, 1) ** 2
        return np.where(d > self.d_peak[s], lat, med)

    def lung_sd(self, s, X, Y):
        """Approximate signed distance (pixels, + inside) to lung s at points (X, Y)."""
        D = s * (X - self.cx)
        sd = np.minimum(D - _by_row(lambda y: self.medial(s, y), Y), _by_row(lambda y: self.lateral(s, y), Y) - D)
        sd = np.minimum(sd, self.diaphragm(s, D) - Y)
        sd = np.minimum(sd, (Y - self.y_apex) * 1.0)
        return sd

    def body_sd(self, X, Y):
        """Signed distance (+ inside) to the body outline: neck, sloping shoulders, chest wall."""
        wavg = (self.W[RIGHT] + self.W[LEFT]) / 2
        neck = 0.36 * wavg
        chest = wavg + self.soft
        sh = self.y_apex - 48
        d = np.abs(X - self.cx)
        side = chest + 30 * np.exp(-((Y - self.y_apex - 10) / 60) ** 2) + 10 * np.clip((Y - 380) / 130, 0, 1)
        top = sh + 0.42 * np.clip(d - neck, 0, None) + 16 * (1 - np.exp(-np.clip(d - neck, 0, None) / 10))
        top = top + 0.004 * np.clip(d - neck - 60, 0, None) ** 2
        top = np.where(d < neck, -200.0, top)
        return np.minimum(side - d, Y - top)


class _Canvas:
    def __init__(self):
        self.Y, self.X = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
        self.rows = np.arange(SIZE, dtype=np.float64)


def _render_anatomy(a: _Anatomy, c: _Canvas, rng: np.random.Generator):
    X, Y = c.X, c.Y
    out = {}
    body_sd = a.body_sd(X, Y)
    body = gaussian_blur(smoothstep(body_sd, 2.0), 2.5)
    thick = gaussian_blur(np.sqrt(np.clip(body_sd / 60, 0, 1)), 6)
    B = body * (0.40 + 0.26 * thick)
    B += 0.05 * smoothstep(Y - (a.y_apex - 30), 30) * body  # thorax thicker than neck
    belly = np.zeros_like(X)
    for s in (RIGHT, LEFT):
        D = s * (X - a.cx)
        belly = np.maximum(belly, smoothstep(Y - a.diaphragm(s, D) - 6, 40) * (D >= 0))
    B += 0.08 * belly * body
    out["body"] = body
    out["belly"] = belly
    lungs = {}
    for s in (RIGHT, LEFT):
        lungs[s] = smoothstep(a.lung_sd(s, X, Y), 2.2)
    out["lungs"] = lungs
    lung = lungs[RIGHT] + lungs[LEFT]
    depth = gaussian_blur(lung, 18)
    depth = depth / max(depth.max(), 1e-6)
    vert = 1 - 0.25 * np.exp(-((Y - a.y_apex) / 40) ** 2) - 0.14 * np.clip(
        (Y - (a.y_dome(RIGHT) - 70)) / 90, 0, 1)
    air = gaussian_blur(lung, 1.2) * (0.3 + 0.7 * depth) * vert * 0.42 * a.lucency
    out["air"] = air
    # heart extra density
    hs = {}
    for s in (RIGHT, LEFT):
        D = s * (X - a.cx)
        top = a.heart_top_r if s == RIGHT else a.heart_top_l
        hs[s] = (smoothstep(_by_row(lambda y: a.mediastinum(s, y), Y) - D, 2) * smoothstep(Y - top, 20) * (D > -40)
                 * smoothstep(a.heart_bottom[s] - Y, 6))
    heart = np.maximum(hs[RIGHT] * (X <= a.cx), hs[LEFT] * (X >= a.cx))
    out["heart"] = heart
    B += (0.03 * heart + 0.05 * gaussian_blur(heart, 12) * heart) * (1 - belly)
    # trachea and bronchi
    tr = np.zeros_like(X)
    tx = a.cx + 2
    tw = rng.uniform(7, 9)
    tr += smoothstep(tw - np.abs(X - tx), 2) * smoothstep(a.y_carina - Y, 4)
    for s, ang, ln in ((RIGHT, np.radians(rng.uniform(25, 35)), 38), (LEFT, np.radians(rng.uniform(38, 48)), 48)):
        xs, ys = segment_points(tx, a.y_carina, tx + s * ln * np.sin(ang), a.y_carina + ln * np.cos(ang), 0.5)
        acc = np.zeros_like(X)
        splat_points(acc, xs, ys, np.full(xs.shape, 1.0))
        tr += np.clip(gaussian_blur(acc, 4.0) * 4.5, 0, 1)
    tr = np.clip(tr, 0, 1) * smoothstep(Y - (a.y_apex - 70), 30)
    B -= 0.10 * tr
    # gastric bubble under the left dome
    gx = a.cx + max(a.W[LEFT] * rng.uniform(0.35, 0.55), a.heart_l + 12)
    gy = a.diaphragm(LEFT, gx - a.cx) + rng.uniform(30, 42)
    bubble = smoothstep(ellipse_sd(X, Y, gx, gy, rng.uniform(16, 28), rng.uniform(10, 16)), 3)
    bubble *= smoothstep(gy + rng.uniform(0, 6) - Y, 1.5)
    B -= 0.12 * bubble * rng.uniform(0.4, 1.0)
    return B, out


def _render_spine(a: _Anatomy, c: _Canvas, rng, degenerative: float) -> tuple[np.ndarray, np.ndarray]:
    S = np.zeros((SIZE, SIZE))
    region = np.zeros_like(S)
    y0 = a.y_apex - 25
    y1 = max(a.y_cp[RIGHT], a.y_cp[LEFT]) + 60
    n = 14
    hv = (y1 - y0) / n
    for k in range(n):
        yc = y0 + (k + 0.5) * hv
        xc = float(a.spine_x(yc))
        tilt = (float(a.spine_x(yc + 1)) - float(a.spine_x(yc - 1))) / 2
        bw = (17 + 0.7 * k) * a.size
        hh = hv * (0.40 if degenerative < 0.5 else 0.45)
        r0, r1 = max(int(yc - hv) - 2, 0), min(int(yc + hv) + 3, SIZE)
        c0, c1 = max(int(xc - bw - 20), 0), min(int(xc + bw + 21), SIZE)
        if r0 >= r1 or c0 >= c1:
            continue
        X, Y = c.X[r0:r1, c0:c1], c.Y[r0:r1, c0:c1]
        Sw, Rw = S[r0:r1, c0:c1], region[r0:r1, c0:c1]
        dx = X - xc - tilt * (Y - yc)
        dy = Y - yc
        box = smoothstep(np.minimum(bw - np.abs(dx), hh - np.abs(dy)), 2)
        edge = box * np.exp(-((hh - np.abs(dy)) / (1.5 + degenerative)) ** 2)
        Sw += 0.03 * box + (0.025 + 0.06 * degenerative) * edge
        np.maximum(Rw, box, out=Rw)
        for sgn in (-1, 1):
            ped = ellipse_sd(X, Y, xc + sgn * (bw - 5), yc - hh * 0.25, 3.5, 5.5)
            Sw += 0.025 * np.exp(-(ped / 1.3) ** 2) * (np.abs(dy) < hv)
            if degenerative > 0 and rng.random() < 0.75 * degenerative:
                for ey in (-hh, hh):
                    ln = rng.uniform(3, 7) * degenerative + 2
                    sp = ellipse_sd(X, Y, xc + sgn * (bw + ln * 0.4), yc + ey, ln, 2.0, sgn * np.sign(ey) * 0.5)
                    Sw += 0.10 * smoothstep(sp, 1.2)
                    np.maximum(Rw, smoothstep(sp + 3, 1), out=Rw)
        sp = ellipse_sd(X, Y, xc, yc + hh * 0.3, 3, 6)
        Sw += 0.015 * smoothstep(sp, 2)
    return S, region


def _rib_curves(a: _Anatomy, rng):
    """Yields (side, xs, ys, kind) for posterior and anterior ribs."""
    span = a.y_dome(RIGHT) - a.y_apex
    spacing = span / rng.uniform(8.6, 9.6)
    for s in (RIGHT, LEFT):
        for i in range(12):
            y0 = a.y_apex - 6 + i * spacing * (0.8 + 0.02 * i) + (6 if s == LEFT else 0) + rng.normal(0, 1.5)
            d0 = 20 * a.size
            L = float(a.lateral(s, y0 + 25)) + 6
            if i == 0:
                L = float(a.d_apex[s]) + 18
            d = np.arange(int(d0), int(L) + 1, dtype=np.float64)
            u = (d - d0) / max(L - d0, 1)
            lift = (12 + 1.5 * i) * np.sin(np.pi * np.clip(u * 0.9, 0, 1))
            drop = (30 + 3 * i) * u ** 3.0
            ys = y0 - lift + drop
            xs = np.rint(a.cx + s * d).astype(np.int64)
            half = (5.2 + 0.25 * i) * a.size
            yield s, xs, ys, "posterior", half
            # anterior part: from the lateral end downwards to the costal cartilage
            ya = ys[-1]
            dd = np.arange(int(L), int(L * rng.uniform(0.32, 0.45)), -1, dtype=np.float64)
            ang = np.radians(rng.uniform(24, 32) + 1.2 * i)
            v = (L - dd)
            ysa = ya + v * np.tan(ang) - 0.0009 * v ** 2 * (L / 150)
            xsa = np.rint(a.cx + s * dd).astype(np.int64)
            yield s, xsa, ysa, "anterior", half * 1.1


def _render_bones(a: _Anatomy, c: _Canvas, rng, lungs):
    X, Y = c.X, c.Y
    R = np.zeros_like(X)
    cage = np.zeros_like(X)
    for s in (RIGHT, LEFT):
        D = s * (X - a.cx)
        cage += smoothstep(_by_row(lambda y: a.lateral(s, y), Y) + 10 - D, 6) * (D > 0) * smoothstep(Y - a.y_apex + 25, 10)
    cage = np.clip(cage, 0, 1)
    lungish = gaussian_blur(np.clip(lungs[RIGHT] + lungs[LEFT], 0, 1), 6)
    ybot = max(a.y_cp[RIGHT], a.y_cp[LEFT])
    cage = cage * (0.3 + 0.7 * lungish) * smoothstep(ybot + 10 - Y, 40)
    Rr = np.zeros_like(X)
    for s, xs, ys, kind, half in _rib_curves(a, rng):
        if kind == "posterior":
            splat_curve(Rr, xs, ys, half, 0.045, cortex=0.035, reach=45, clip=cage)
        else:
            splat_curve(Rr, xs, ys, half, 0.03, cortex=0.008, reach=45, clip=cage)
    R += gaussian_blur(Rr, 1.0)
    # clavicles
    for s in (RIGHT, LEFT):
        d0, d1 = 16 * a.size, a.W[s] + rng.uniform(5, 18)
        y0 = a.y_apex + rng.uniform(22, 34)
        y1 = a.y_apex + rng.uniform(-10, 4)
        d = np.arange(int(d0), int(d1), dtype=np.float64)
        u = (d - d0) / (d1 - d0)
        ys = y0 + (y1 - y0) * u + 7 * np.sin(2 * np.pi * u) * rng.uniform(0.6, 1.2)
        xs = np.rint(a.cx + s * d).astype(np.int64)
        half = 7.5 * a.size
        splat_curve(R, xs, ys, half, 0.06, cortex=0.04, reach=20, clip=lungs["body"])
    # humeral heads at the shoulders
    for s in (RIGHT, LEFT):
        hx = a.cx + s * (a.W[s] + a.soft - rng.uniform(0, 12))
        r = rng.uniform(24, 30) * a.size
        col = a.body_sd(np.full(SIZE, hx), np.arange(SIZE, dtype=float))
        inside = np.nonzero(col > 0)[0]
        hy = (inside[0] if inside.size else a.y_apex) + r * rng.uniform(0.8, 1.1)
        head = smoothstep(ellipse_sd(X, Y, hx, hy, r, r * 1.05), 2)
        shaft = smoothstep(np.minimum(r * 0.55 - np.abs((X - hx) - s * 0.25 * (Y - hy)), Y - hy), 2)
        bone = np.clip(head + shaft, 0, 1) * lungs["body"]
        R += 0.07 * bone + 0.04 * bone * np.exp(-(ellipse_sd(X, Y, hx, hy, r, r * 1.05) / 2.0) ** 2)
    # scapulae (faint, lateral upper chest)
    for s in (RIGHT, LEFT):
        D = s * (X - a.cx)
        border = a.W[s] * rng.uniform(0.72, 0.82) + 0.12 * (Y - a.y_apex)
        sc = smoothstep(D - border, 5) * smoothstep(a.y_apex + rng.uniform(170, 200) - Y, 25) * smoothstep(
            Y - a.y_apex + 10, 10)
        R += 0.045 * sc
    return R


def _vessel_tree(a: _Anatomy, rng, s, lung_hard, congestion: float):
    pts_x, pts_y, pts_w = [], [], []
    hx = a.cx + s * (float(a.mediastinum(s, a.y_hilum[s])) + 4)
    hy = a.y_hilum[s]

    def branch(x, y, ang, length, thick, depth):
        if depth > 5 or thick < 0.7:
            return
        xs_all, ys_all = [], []
        for _ in range(4):  # a gently curving polyline
            ang += rng.normal(0, 0.12)
            x1 = x + length / 4 * math.cos(ang)
            y1 = y + length / 4 * math.sin(ang)
            xs, ys = segment_points(x, y, x1, y1, 1.0)
            xs_all.append(xs); ys_all.append(ys)
            x, y = x1, y1
        xs = np.concatenate(xs_all); ys = np.concatenate(ys_all)
        ix = np.clip(np.rint(xs).astype(int), 0, SIZE - 1)
        iy = np.clip(np.rint(ys).astype(int), 0, SIZE - 1)
        inside = lung_hard[iy, ix]
        taper = np.linspace(1.0, 0.8, xs.size)[inside]
        pts_x.append(xs[inside]); pts_y.append(ys[inside]); pts_w.append(thick * taper)
        n_child = 2 if rng.random() < 0.85 else 3
        for k in range(n_child):
            spread = rng.uniform(0.2, 0.5) * (1 if k % 2 else -1)
            branch(x, y, ang + spread, length * rng.uniform(0.72, 0.92), thick * rng.uniform(0.6, 0.75), depth + 1)

    base = 0.0 if s == LEFT else math.pi
    # angles in image coordinates; s = +1 points right. upward = -pi/2
    up_boost = 1 + 0.35 * congestion
    for ang_deg, ln, th in ((-75, 40, 4.0 * up_boost), (-25, 38, 3.6), (20, 42, 4.2), (60, 46, 4.8),
                            (-105, 30, 3.0 * up_boost)):
        ang = math.radians(ang_deg + rng.normal(0, 8))
        if s == RIGHT:
            ang = math.pi - ang
        ox, oy = rng.normal(0, 5), rng.normal(0, 9)
        branch(hx + ox + s * 4, hy + oy, ang, ln * a.size * rng.uniform(0.85, 1.15), th * 1.25, 0)
    del base
    if not pts_x:
        return np.zeros(0), np.zeros(0), np.zeros(0), (hx, hy)
    return np.concatenate(pts_x), np.concatenate(pts_y), np.concatenate(pts_w), (hx, hy)


def _render_vessels(a, c, rng, lungs, congestion: float):
    V = np.zeros((SIZE, SIZE))
    hila = np.zeros_like(V)
    lung = np.clip(lungs[RIGHT] + lungs[LEFT], 0, 1)
    hard = lung > 0.5
    classes = [(3.0, 99, 1.9), (1.6, 3.0, 1.2), (0.0, 1.6, 0.8)]
    allx, ally, allw = [], [], []
    for s in (RIGHT, LEFT):
        x, y, w, (hx, hy) = _vessel_tree(a, rng, s, hard, congestion)
        allx.append(x); ally.append(y); allw.append(w)
        hila += gaussian_blur(smoothstep(ellipse_sd(c.X, c.Y, hx + s * 8, hy + 6, 14 + 4 * congestion,
                                                    26 + 6 * congestion), 6), 4)
    x = np.concatenate(allx); y = np.concatenate(ally); w = np.concatenate(allw)
    for lo, hi, sig in classes:
        sel = (w >= lo) & (w < hi)
        acc = np.zeros_like(V)
        splat_points(acc, x[sel], y[sel], w[sel] ** 1.4)
        V += gaussian_blur(acc, sig) * (0.05 * (1 + 0.3 * congestion))
    return V, hila


def _zone_point(a: _Anatomy, rng, s, zone, lung_inner, margin_ok=None):
    """A random point inside lung s in the given zone."""
    top, bot = a.y_apex, a.y_dome(s)
    ranges = {"upper": (0.06, 0.33), "apex": (0.02, 0.16), "middle": (0.33, 0.62), "lower": (0.6, 0.9),
              "base": (0.72, 0.98), "lingula": (0.5, 0.85), "hilum": (0.38, 0.55), "diffuse": (0.1, 0.9),
              None: (0.1, 0.9)}
    f0, f1 = ranges.get(zone, (0.1, 0.9))
    for _ in range(200):
        y = top + (bot - top) * rng.uniform(f0, f1)
        m = float(a.medial(s, y))
        l = float(a.lateral(s, y))
        if zone in ("lingula", "hilum"):
            d = m + rng.uniform(6, 38)
        else:
            d = rng.uniform(m, l)
        if zone == "base":
            d = rng.uniform(a.d_peak[s] * 0.5, a.W[s] * 0.92)
            y = float(a.diaphragm(s, d)) - rng.uniform(12, 45)
        x = a.cx + s * d
        ix, iy = int(round(x)), int(round(y))
        if 0 <= ix < SIZE and 0 <= iy < SIZE and lung_inner[s][iy, ix]:
            return x, y
    # fall back to the lung's centre of mass in that band
    ys, xs = np.nonzero(lung_inner[s])
    i = rng.integers(len(xs))
    return float(xs[i]), float(ys[i])


class _FindingPainter:
    def __init__(self, a, c, rng, lungs, air):
        self.a, self.c, self.rng = a, c, rng
        self.lungs = lungs
        self.air = air
        self.inner = {s: gaussian_blur(lungs[s], 3) > 0.9 for s in (RIGHT, LEFT)}
        self.add = np.zeros((SIZE, SIZE))        # brightness added
        self.refill = np.zeros((SIZE, SIZE))     # fraction of the lung air replaced by fluid/tissue (0..1)
        self.vessel_keep = np.ones((SIZE, SIZE))
        self.extra_air = np.zeros((SIZE, SIZE))

    def blob(self, x, y, rx, ry, angle=0.0, edge=2.0):
        return smoothstep(ellipse_sd(self.c.X, self.c.Y, x, y, rx, ry, angle), edge)

    def lung_union(self, signs):
        return np.clip(sum(self.lungs[s] for s in signs), 0, 1)

    # each painter returns a float mask in [0, 1]
    def pleural_effusion(self, f):
        a, X, Y = self.a, self.c.X, self.c.Y
        mask = np.zeros_like(X)
        for s in _side_signs(f.side):
            D = s * (X - a.cx)
            span = a.y_cp[s] - a.y_apex
            if f.severity == "large":
                level = a.y_cp[s] - span * self.rng.uniform(0.38, 0.55)
                men = self.rng.uniform(40, 65)
            else:
                level = a.y_cp[s] - self.rng.uniform(22, 40)
                men = self.rng.uniform(14, 24)
            m = _by_row(lambda y: a.medial(s, y), Y)
            l = _by_row(lambda y: a.lateral(s, y), Y)
            u = np.clip((D - m) / np.maximum(l - m, 1), 0, 1)
            surface = level + men * (1 - u) ** 1.6  # meniscus: climbs the lateral chest wall
            fluid = smoothstep(Y - surface, 14) * self.lungs[s]
            self.refill = np.maximum(self.refill, fluid * np.clip((Y - surface) / 20 + 0.8, 0, 1))
            self.add += 0.035 * gaussian_blur(fluid, 4)
            self.vessel_keep *= 1 - 0.8 * fluid
            mask = np.maximum(mask, (fluid > 0.35) * 1.0)
        return mask

    def _opacity(self, f, rng, density, size, patchy):
        a = self.a
        mask = np.zeros((SIZE, SIZE))
        for s in _side_signs(f.side):
            for _ in range(1 if f.zone != "diffuse" else 3):
                x, y = _zone_point(a, rng, s, f.zone, self.inner)
                if f.zone in ("base", "lower"):
                    y = min(y, float(a.diaphragm(s, s * (x - a.cx))) - size * 0.35)
                rx, ry = size * rng.uniform(0.8, 1.2), size * rng.uniform(0.55, 0.9)
                env = gaussian_blur(self.blob(x, y, rx, ry, rng.uniform(-0.4, 0.4), 6), 5)
                if patchy:
                    n = smooth_noise(rng, (SIZE, SIZE), 5.0)
                    op = np.clip(env * 1.4 * (0.65 + 0.35 * n), 0, 1)
                else:
                    op = env
                op *= self.lungs[s]
                self.refill = np.maximum(self.refill, op * density)
                mask = np.maximum(mask, (op > 0.3) * 1.0)
        return mask

    def airspace_opacity(self, f):
        sev = 1.0 if f.severity == "moderate" else 0.8
        return self._opacity(f, self.rng, 0.8 * sev, self.rng.uniform(38, 56), True)

    def atelectasis(self, f):
        a, rng = self.a, self.rng
        mask = np.zeros((SIZE, SIZE))
        for s in _side_signs(f.side):
            zone = f.zone or "base"
            for k in range(rng.integers(1, 3) if f.severity != "moderate" else 3):
                x, y = _zone_point(a, rng, s, zone, self.inner)
                if zone in ("base", "lower", None):
                    y = min(y, float(a.diaphragm(s, s * (x - a.cx))) - rng.uniform(10, 30))
                ln = rng.uniform(40, 70)
                th = rng.uniform(3.5, 6.0)
                band = self.blob(x, y, ln / 2, th / 2, rng.uniform(-0.25, 0.25) + s * 0.08, 2.5)
                band = gaussian_blur(band, 1.8) * self.lungs[s]
                self.refill = np.maximum(self.refill, band * 0.95)
                haze = gaussian_blur(self.blob(x, y + 6, ln / 2, 9, 0, 6), 5) * self.lungs[s]
                self.refill = np.maximum(self.refill, haze * 0.25)
                mask = np.maximum(mask, (np.maximum(band, haze) > 0.3) * 1.0)
        return mask

    def scarring(self, f):
        a, rng = self.a, self.rng
        mask = np.zeros((SIZE, SIZE))
        for s in _side_signs(f.side):
            x0, y0 = _zone_point(a, rng, s, f.zone or "apex", self.inner)
            acc = np.zeros((SIZE, SIZE))
            for _ in range(rng.integers(3, 6)):
                ang = rng.uniform(-0.8, 0.8) + (0 if rng.random() < 0.5 else math.pi)
                ln = rng.uniform(12, 30)
                xs, ys = segment_points(x0 + rng.normal(0, 6), y0 + rng.normal(0, 6),
                                        x0 + ln * math.cos(ang), y0 + ln * math.sin(ang), 0.5)
                splat_points(acc, xs, ys, np.full(xs.shape, 1.0))
            lines = np.clip(gaussian_blur(acc, 0.9) * 1.4, 0, 1) * self.lungs[s]
            self.refill = np.maximum(self.refill, lines * 0.7)
            mask = np.maximum(mask, (gaussian_blur(lines, 2) > 0.08) * 1.0)
        return mask

    def calcified_granuloma(self, f):
        a, rng = self.a, self.rng
        mask = np.zeros((SIZE, SIZE))
        multiple = f.severity == "multiple" or f.zone == "diffuse"
        count = rng.integers(3, 7) if multiple else 1
        signs = _side_signs(f.side) if f.side else [int(rng.choice([RIGHT, LEFT]))]
        for k in range(count):
            s = signs[k % len(signs)]
            zone = f.zone if f.zone != "diffuse" else None
            x, y = _zone_point(a, rng, s, zone, self.inner)
            if f.zone == "hilum":
                hx = a.cx + s * (float(a.mediastinum(s, a.y_hilum[s])) + rng.uniform(2, 14))
                x, y = hx, a.y_hilum[s] + rng.uniform(-12, 18)
            r = rng.uniform(2.2, 4.2) if f.zone != "hilum" else rng.uniform(3.0, 5.0)
            dot = self.blob(x, y, r, r * rng.uniform(0.8, 1.1), 0, 1.0)
            self.add += 0.30 * dot
            mask = np.maximum(mask, self.blob(x, y, r + 3, r + 3, 0, 1.0) > 0.5)
        return mask

    def nodule(self, f):
        a, rng = self.a, self.rng
        s = _side_signs(f.side)[0] if f.side else int(rng.choice([RIGHT, LEFT]))
        x, y = _zone_point(a, rng, s, f.zone, self.inner)
        r = rng.uniform(6, 11)
        n = self.blob(x, y, r, r * rng.uniform(0.85, 1.1), 0, 2.5) * self.lungs[s]
        self.refill = np.maximum(self.refill, n * 0.55)
        self.add += 0.05 * n
        return self.blob(x, y, r + 4, r + 4, 0, 1.0) > 0.5

    def mass(self, f):
        a, rng = self.a, self.rng
        s = _side_signs(f.side)[0] if f.side else int(rng.choice([RIGHT, LEFT]))
        x, y = _zone_point(a, rng, s, f.zone, self.inner)
        r = rng.uniform(24, 34)
        m = np.zeros((SIZE, SIZE))
        for _ in range(3):
            m = np.maximum(m, self.blob(x + rng.normal(0, r * 0.3), y + rng.normal(0, r * 0.3),
                                        r * rng.uniform(0.6, 0.9), r * rng.uniform(0.6, 0.9), rng.uniform(0, 3), 3))
        m = gaussian_blur(m, 2.5) * np.clip(self.lungs[s] + 0.3, 0, 1)
        self.refill = np.maximum(self.refill, m * 0.8)
        self.add += 0.03 * m
        return m > 0.3

    def pneumothorax(self, f):
        a, rng, X, Y = self.a, self.rng, self.c.X, self.c.Y
        mask = np.zeros((SIZE, SIZE))
        for s in _side_signs(f.side):
            px = a.cx + s * (float(a.mediastinum(s, a.y_hilum[s])) + 10)
            py = a.y_hilum[s] + 40
            if f.severity == "large":
                kx, ky = rng.uniform(0.62, 0.75), rng.uniform(0.72, 0.82)
            else:
                kx, ky = rng.uniform(0.9, 0.95), rng.uniform(0.85, 0.9)
            sd_c = a.lung_sd(s, px + (X - px) / kx, py + (Y - py) / ky) * min(kx, ky)
            collapsed = smoothstep(sd_c, 1.5)
            space = np.clip(self.lungs[s] - collapsed, 0, 1)
            self.vessel_keep *= 1 - space
            self.extra_air += 0.12 * space
            if f.severity == "large":
                self.refill = np.maximum(self.refill, 0.3 * collapsed * self.lungs[s])
            line = np.exp(-(sd_c / 0.9) ** 2) * self.lungs[s]
            self.add += 0.10 * line
            mask = np.maximum(mask, (space > 0.5) * 1.0)
        return mask

    def hiatal_hernia(self, f):
        a, rng = self.a, self.rng
        r = rng.uniform(22, 30) if f.severity != "large" else rng.uniform(32, 42)
        x = a.cx + rng.uniform(0, 18)
        y = a.y_dome(LEFT) - r * 0.5
        h = self.blob(x, y, r * 1.15, r, 0, 3)
        level = y - r * rng.uniform(0.1, 0.4)
        gas = h * smoothstep(level - self.c.Y, 1.2)
        self.add += 0.035 * h - 0.10 * gas
        return h > 0.5

    def congestion(self, f):
        a, rng, X, Y = self.a, self.rng, self.c.X, self.c.Y
        sev = 1.0 if f.severity == "moderate" else 0.6
        lung = self.lung_union([RIGHT, LEFT])
        haze = np.zeros((SIZE, SIZE))
        for s in (RIGHT, LEFT):
            hx = a.cx + s * (float(a.mediastinum(s, a.y_hilum[s])) + 20)
            haze = np.maximum(haze, self.blob(hx, a.y_hilum[s] + 10, 55, 85, 0, 40))
        haze = gaussian_blur(haze, 15) * lung
        self.refill = np.maximum(self.refill, haze * 0.35 * sev)
        acc = np.zeros((SIZE, SIZE))
        for s in (RIGHT, LEFT):  # Kerley B lines at the lateral bases
            for _ in range(rng.integers(4, 9)):
                y = a.y_cp[s] - rng.uniform(15, 90)
                l = float(a.lateral(s, y))
                xs, ys = segment_points(a.cx + s * (l - 1), y, a.cx + s * (l - rng.uniform(10, 20)), y + rng.normal(0, 1), 0.5)
                splat_points(acc, xs, ys, np.full(xs.shape, 1.0))
        kerley = np.clip(gaussian_blur(acc, 0.7) * 1.5, 0, 1) * lung
        self.add += 0.05 * kerley * sev
        return np.maximum(haze > 0.3, gaussian_blur(kerley, 2) > 0.1)

    def hyperinflation(self, f):
        return self.lung_union([RIGHT, LEFT]) > 0.5

    hypoinflation = hyperinflation

    def elevated_hemidiaphragm(self, f):
        a, X, Y = self.a, self.c.X, self.c.Y
        s = _side_signs(f.side)[0] if f.side in ("right", "left") else RIGHT
        D = s * (X - a.cx)
        band = (np.abs(Y - a.diaphragm(s, D)) < 16) & (D > a.medial(s, Y) - 10) & (D < a.W[s] + 4)
        return band

    def cardiomegaly(self, f):
        return self.heart_mask

    def tortuous_aorta(self, f):
        a, X, Y = self.a, self.c.X, self.c.Y
        D = X - a.cx
        m = a.mediastinum(LEFT, Y)
        region = (D > a.med[LEFT] - 18) & (D < m + 3) & (Y > a.y_knob - a.knob_r - 8) & (Y < a.y_knob + 120)
        return region

    def aortic_calcification(self, f):
        a, rng, X, Y = self.a, self.rng, self.c.X, self.c.Y
        kx = a.cx + float(a.mediastinum(LEFT, a.y_knob)) - a.knob_r * 0.9
        ky = a.y_knob
        r = a.knob_r * 0.85
        ang = np.arctan2(Y - ky, X - kx)
        ring = np.exp(-((np.hypot(X - kx, Y - ky) - r) / 1.1) ** 2)
        arc = ring * ((ang > np.radians(-80)) & (ang < np.radians(40)))
        arc *= np.clip(smooth_noise(rng, (SIZE, SIZE), 2.0) * 0.6 + 0.8, 0, 1)
        self.add += 0.22 * arc
        return gaussian_blur(arc, 2) > 0.1

    def degenerative_spine(self, f):
        return self.spine_region > 0.5

    def scoliosis(self, f):
        return self.spine_region > 0.5

    def _wire(self, xs, ys, thick, value):
        acc = np.zeros((SIZE, SIZE))
        splat_points(acc, xs, ys, np.full(xs.shape, 1.0))
        w = np.clip(gaussian_blur(acc, thick) * thick * 2.5, 0, 1)
        self.add += value * w
        return w

    def sternotomy_wires(self, f):
        a, rng = self.a, self.rng
        mask = np.zeros((SIZE, SIZE))
        n = rng.integers(5, 8)
        y0 = a.y_knob - rng.uniform(5, 20)
        step = rng.uniform(24, 32)
        for k in range(n):
            x = a.cx + rng.normal(0, 3) + 0.04 * (k * step)
            y = y0 + k * step
            t = np.linspace(0, 2 * np.pi, 160)
            rx, ry = rng.uniform(6, 9), rng.uniform(2.5, 4)
            xs = x + rx * np.cos(t)
            ys = y + ry * np.sin(2 * t) * 0.9 + rng.normal(0, 0.2)
            tail = np.linspace(0, 1, 30)
            xs = np.concatenate([xs, x + rx + tail * rng.uniform(3, 6)])
            ys = np.concatenate([ys, y + tail * rng.uniform(2, 6)])
            w = self._wire(xs, ys, 0.9, 0.5)
            mask = np.maximum(mask, gaussian_blur(w, 2) > 0.05)
        return mask

    def _lead(self, pts, thick=0.8, value=0.4):
        pts = np.asarray(pts, dtype=float)
        t = np.linspace(0, 1, len(pts))
        tt = np.linspace(0, 1, 600)
        xs = np.interp(tt, t, pts[:, 0])
        ys = np.interp(tt, t, pts[:, 1])
        k = np.ones(81) / 81
        xs = np.convolve(np.pad(xs, 40, mode="edge"), k, "valid")
        ys = np.convolve(np.pad(ys, 40, mode="edge"), k, "valid")
        return self._wire(xs, ys, thick, value)

    def pacemaker(self, f):
        a, rng = self.a, self.rng
        s = LEFT if f.side != "right" else RIGHT
        gx = a.cx + s * a.W[s] * rng.uniform(0.5, 0.68)
        gy = a.y_apex + rng.uniform(45, 70)
        ang = rng.uniform(-0.3, 0.3)
        body = smoothstep(np.minimum(
            22 - np.abs((self.c.X - gx) * np.cos(ang) + (self.c.Y - gy) * np.sin(ang)),
            16 - np.abs(-(self.c.X - gx) * np.sin(ang) + (self.c.Y - gy) * np.cos(ang))), 2)
        body = gaussian_blur(body, 1.0)
        self.add += 0.62 * body
        ra = (a.cx - a.heart_r * 0.5, a.heart_top_r + 25)
        rv = (a.cx + a.heart_l * 0.45, a.heart_bottom[LEFT] - 30)
        svc = (a.cx - s * 6 - 14, a.y_knob + 10)
        leads = np.zeros((SIZE, SIZE))
        for tip, bend in ((ra, 10), (rv, -8)):
            pts = [(gx - s * 18, gy), (gx - s * 45, gy - 12), (svc[0] + bend * 0.5, svc[1] - 20),
                   (svc[0], svc[1] + 30), (a.cx - 20 + bend, a.heart_top_r), (tip[0], tip[1])]
            leads = np.maximum(leads, self._lead(pts, 0.9, 0.45))
        return (body > 0.3) | (gaussian_blur(leads, 2) > 0.05)

    def catheter(self, f):
        a, rng = self.a, self.rng
        s = RIGHT if f.side != "left" else LEFT
        start = (a.cx + s * (a.W[s] + rng.uniform(10, 30)), a.y_apex + rng.uniform(-20, 15))
        clav = (a.cx + s * a.W[s] * 0.45, a.y_apex + rng.uniform(20, 35))
        svc = (a.cx - 16, a.y_knob - 10)
        tip = (a.cx - 16 + rng.normal(0, 3), a.heart_top_r + rng.uniform(-10, 25))
        pts = [start, clav, (a.cx + s * 30, a.y_apex + 40), svc, tip]
        w = self._lead(pts, 1.1, 0.3)
        return gaussian_blur(w, 2) > 0.05

    def endotracheal_tube(self, f):
        a, rng = self.a, self.rng
        tip = a.y_carina - rng.uniform(25, 50)
        x = a.cx + 2 + rng.normal(0, 1.5)
        w = np.zeros((SIZE, SIZE))
        for dx in (-5, 5):
            xs, ys = segment_points(x + dx, 0, x + dx, tip, 0.5)
            w = np.maximum(w, self._wire(xs, ys, 0.9, 0.16))
        xs, ys = segment_points(x - 4, 0, x - 4, tip, 0.5)
        w = np.maximum(w, self._wire(xs, ys, 0.7, 0.2))
        return gaussian_blur(w, 2) > 0.05


def render(findings: list[Finding] | tuple = (), seed: int = 0, size: int = SIZE) -> RenderResult:
    """Renders one phantom. `size` must be 512 (the canvas is defined in those pixels)."""
    if size != SIZE:
        raise ValueError(f"size {size} not supported; the renderer draws on a {SIZE}x{SIZE} canvas")
    findings = [f if isinstance(f, Finding) else Finding.from_dict(f) for f in findings]
    names = ("anatomy", "spine", "bones", "vessels", "texture", "exposure", "noise") + tuple(KINDS)

    def stream(name, k=0):
        """An independent generator per part, so a finding changes nothing but what it draws."""
        return np.random.default_rng([int(seed) & 0xFFFFFFFF, names.index(name), k])

    rng = stream("anatomy")
    a = _Anatomy(rng, findings, stream)
    c = _Canvas()
    B, parts = _render_anatomy(a, c, rng)
    kinds = {f.kind: f for f in findings}
    degen = 0.0
    if "degenerative_spine" in kinds:
        degen = 1.0 if kinds["degenerative_spine"].severity != "mild" else 0.6
    spine, spine_region = _render_spine(a, c, stream("spine"), degen)
    bones = _render_bones(a, c, stream("bones"), dict(parts["lungs"], body=parts["body"]))
    congestion = 0.0
    if "congestion" in kinds:
        congestion = 1.0 if kinds["congestion"].severity == "moderate" else 0.6
    if "hypoinflation" in kinds:
        congestion = max(congestion, 0.3)
    vessels, hila = _render_vessels(a, c, stream("vessels"), parts["lungs"], congestion)
    p = _FindingPainter(a, c, rng, parts["lungs"], parts["air"])
    p.heart_mask = parts["heart"] > 0.5
    p.spine_region = spine_region
    masks = []
    for i, f in enumerate(findings):
        painter = getattr(p, f.kind)
        p.rng = stream(f.kind, 1 + sum(g.kind == f.kind for g in findings[:i]))
        m = painter(f)
        masks.append((f, np.asarray(m, dtype=np.float64)))
    lung = np.clip(parts["lungs"][RIGHT] + parts["lungs"][LEFT], 0, 1)
    trng = stream("texture")
    tex = smooth_noise(trng, (SIZE, SIZE), 1.8) * 0.014 + smooth_noise(trng, (SIZE, SIZE), 12) * 0.018
    air = parts["air"] * (1 - np.clip(p.refill, 0, 1)) + p.extra_air * lung
    refill = np.clip(p.refill, 0, 1)
    img = B - air + bones * (1 - 0.5 * refill * lung) + gaussian_blur(spine, 1.0) * (0.6 - 0.3 * parts["belly"] + 0.3 * lung)
    img += (vessels * p.vessel_keep + 0.13 * hila) * lung * (1 - np.clip(p.refill, 0, 1))
    img += tex * lung * (1 - 0.8 * np.clip(p.refill, 0, 1)) + p.add
    # exposure: window, gamma
    rng = stream("exposure")
    lo = rng.uniform(-0.02, 0.06)
    hi = rng.uniform(0.95, 1.06)
    img = np.clip((img - lo) / (hi - lo), 0, 1.2)
    img = np.clip(img, 0, 1) ** rng.uniform(1.15, 1.5)
    img = gaussian_blur(img, rng.uniform(0.5, 1.1))
    # slight rotation, shift and zoom (the same warp for masks)
    ang = np.radians(rng.uniform(-3, 3))
    zoom = rng.uniform(0.96, 1.04)
    sh = rng.normal(0, 6, size=2)
    ca, sa = np.cos(ang) / zoom, np.sin(ang) / zoom
    cx0 = cy0 = SIZE / 2
    M = np.array([[ca, -sa, cx0 - ca * (cx0 + sh[0]) + sa * (cy0 + sh[1])],
                  [sa, ca, cy0 - sa * (cx0 + sh[0]) - ca * (cy0 + sh[1])]])
    img = warp_affine(img, M, fill=None)
    out_masks = [(f, warp_affine(m, M, fill=0.0) > 0.5) for f, m in masks]
    # quantum noise (more where fewer photons reach the detector, i.e. where the image is bright)
    rng = stream("noise")
    noise = rng.standard_normal(img.shape) * rng.uniform(0.006, 0.014) * (0.6 + 0.8 * img)
    noise += gaussian_blur(rng.standard_normal(img.shape), 1.0) * 0.01
    img = np.clip(img + noise, 0, 1)
    u16 = np.rint(img * 60000 + 2000).astype(np.uint16)
    meta = {"seed": seed, "ctr": round(float(a.ctr), 3), "rotation_deg": round(float(np.degrees(ang)), 2),
            "findings": [f.to_dict() for f in findings]}
    return RenderResult(u16, out_masks, meta)


def save_png16(path: str, image: np.ndarray) -> None:
    from PIL import Image
    Image.fromarray(image.astype(np.uint16)).save(path)


def save_preview(path: str, result: RenderResult, overlay: bool = False) -> None:
    """8-bit PNG for looking at (optionally with mask outlines in colour)."""
    from PIL import Image
    g = (result.image.astype(np.float64) / 65535 * 255).astype(np.uint8)
    if not overlay or not result.masks:
        Image.fromarray(g).save(path)
        return
    rgb = np.stack([g, g, g], -1).astype(np.float64)
    colors = [(255, 60, 60), (60, 255, 60), (80, 120, 255), (255, 220, 0), (255, 0, 255), (0, 255, 255)]
    for i, (_, m) in enumerate(result.masks):
        edge = m & ~(np.roll(m, 1, 0) & np.roll(m, -1, 0) & np.roll(m, 1, 1) & np.roll(m, -1, 1))
        rgb[edge] = colors[i % len(colors)]
    Image.fromarray(rgb.astype(np.uint8)).save(path)


def parse_findings(text: str) -> list[Finding]:
    """'pleural_effusion:right::small,nodule:left:upper' -> findings (fields kind:side:zone:severity)."""
    out = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        parts = item.split(":") + [""] * 4
        out.append(Finding(parts[0], parts[1] or None, parts[2] or None, parts[3] or None))
    return out


SAMPLES = [
    [],
    [Finding("cardiomegaly", severity="moderate"), Finding("pleural_effusion", "bilateral", severity="small")],
    [Finding("pleural_effusion", "right", severity="large")],
    [Finding("airspace_opacity", "left", "base"), Finding("atelectasis", "right", "base")],
    [Finding("calcified_granuloma", "right", "upper", "multiple"), Finding("nodule", "left", "middle")],
    [Finding("mass", "right", "upper"), Finding("pneumothorax", "left", severity="large")],
    [Finding("hyperinflation"), Finding("tortuous_aorta"), Finding("aortic_calcification")],
    [Finding("hypoinflation"), Finding("degenerative_spine"), Finding("scoliosis", "right", severity="moderate")],
    [Finding("sternotomy_wires"), Finding("pacemaker", "left"), Finding("catheter", "right")],
    [Finding("congestion", severity="moderate"), Finding("cardiomegaly", severity="mild"),
     Finding("hiatal_hernia", severity="large"), Finding("endotracheal_tube")],
    [Finding("elevated_hemidiaphragm", "right"), Finding("scarring", "left", "apex"),
     Finding("calcified_granuloma", "left", "hilum")],
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--findings", default="", help="kind:side:zone:severity,... (empty = normal)")
    ap.add_argument("--samples", action="store_true", help="render the built-in sample set")
    ap.add_argument("--overlay", action="store_true", help="also write previews with mask outlines")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    sets = SAMPLES if args.samples else [parse_findings(args.findings)]
    for i, fs in enumerate(sets):
        res = render(fs, seed=args.seed + i)
        stem = os.path.join(args.out, f"phantom_{args.seed + i:04d}")
        save_png16(stem + ".png", res.image)
        save_preview(stem + "_preview.png", res)
        if args.overlay:
            save_preview(stem + "_overlay.png", res, overlay=True)
        print(stem, ",".join(f.name for f in fs) or "normal")


if __name__ == "__main__":
    raise SystemExit(main())
