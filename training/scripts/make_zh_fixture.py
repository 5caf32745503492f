r"""Writes Tests/CXRKitTests/Fixtures/zh: a tiny Chinese model, a few phantoms and the PyTorch reference's
beam results on them (expected.json), for Tests/CXRKitTests/ChineseCaptionTests.swift.

Run with the training virtualenv's Python (scripts/setup --training; it imports the installed cxrcaption_ref
and cxrcaption_train), e.g. from the repository root (the fixture folder's README.md has the full recipe):

    python training/scripts/make_zh_fixture.py --model RUN/model.safetensors --manifest $DATA/manifest.jsonl \
        --ids CXR... CXR... --out Tests/CXRKitTests/Fixtures/zh

Each phantom (512x512, 16-bit) is shrunk to 128x128 by 4x4 block means (rounded, still 16-bit) and written
as a 16-bit grayscale PNG. The expected results are computed from that PNG file as read back, through
cxrcaption_ref.preprocess (the intake the Swift tests prove identical), the reference model loaded from the
copied weights file, and cxrcaption_ref.beam with the library's default parameters (beam 3, 3 results,
60 tokens, no length penalty). Deterministic: the same inputs give the same files.
"""
import argparse
import collections
import json
import os
import shutil
import sys

import numpy as np
import torch
from PIL import Image

from cxrcaption_ref import preprocess
from cxrcaption_ref.beam import BeamParameters, detokenize, model_beam_search
from cxrcaption_ref.export import load_model
from cxrcaption_train.dataset import read_manifest

SHRINK = 4


def shrink16(array: np.ndarray) -> np.ndarray:
    """Block means of SHRINK x SHRINK pixels, rounded half up, as uint16."""
    h, w = array.shape
    blocks = array[: h - h % SHRINK, : w - w % SHRINK].astype(np.int64)
    blocks = blocks.reshape(h // SHRINK, SHRINK, w // SHRINK, SHRINK).sum(axis=(1, 3))
    n = SHRINK * SHRINK
    return ((2 * blocks + n) // (2 * n)).astype(np.uint16)


def read_png16(path: str) -> np.ndarray:
    with Image.open(path) as im:
        if im.mode not in ("I;16", "I;16B", "I;16L"):
            raise ValueError(f"{path}: expected a 16-bit grayscale PNG, got mode {im.mode}")
        return np.array(im, dtype=np.uint16)


def caption(model, info, pixels: np.ndarray, bits: int, params=BeamParameters()):
    cfg = info["config"]
    equalized = preprocess.equalized_image(pixels, bits_stored=bits, size=cfg.input_size)
    x = preprocess.model_input(equalized, mean=cfg.mean, std=cfg.std, in_channels=cfg.in_channels)
    with torch.no_grad():
        feats = model.encode(torch.from_numpy(x)[None])
        results = model_beam_search(model, feats, info["special"], params)
        probs = model.findings_probabilities(feats).squeeze(0).tolist() if info["labels"] else []
    return results, probs


def survey(args) -> int:
    """Top-1 captions of the first N studies of a split, on the same 128x128 16-bit images the fixture stores."""
    model, info = load_model(args.model)
    rows = [e for e in read_manifest(args.manifest) if e["split"] == args.split][: args.survey]
    texts = collections.Counter()
    by_findings = collections.defaultdict(collections.Counter)
    for e in rows:
        results, _ = caption(model, info, shrink16(read_png16(e["image_path"])), 16, BeamParameters(results=1))
        text = detokenize(results[0].tokens, info["vocab"], info["join"], info["special"])
        kinds = ",".join(sorted(f["kind"] for f in e.get("findings_spec", []))) or "normal"
        texts[text] += 1
        by_findings[kinds][text] += 1
        print(f"{e['id']}\t{kinds}\t{text}")
    print(f"# {len(rows)} studies, {len(texts)} distinct top-1 captions; most common: {texts.most_common(5)}")
    for kinds, counter in sorted(by_findings.items(), key=lambda kv: -sum(kv[1].values()))[:12]:
        print(f"# {kinds} ({sum(counter.values())}): {counter.most_common(3)}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="exported weights file (join \"\", Chinese vocabulary)")
    p.add_argument("--manifest", required=True, help="iu-phantom manifest.jsonl")
    p.add_argument("--ids", nargs="+", help="study ids of the phantoms to store")
    p.add_argument("--out", help="fixture folder")
    p.add_argument("--survey", type=int, default=0, metavar="N",
                   help="instead: print findings -> top-1 caption for the first N studies of --split")
    p.add_argument("--split", default="val")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.survey:
        return survey(args)
    if not args.ids or not args.out:
        p.error("--ids and --out are required (or --survey)")

    os.makedirs(args.out, exist_ok=True)
    model_out = os.path.join(args.out, "model.safetensors")
    if os.path.abspath(args.model) != os.path.abspath(model_out):
        shutil.copyfile(args.model, model_out)
    model, info = load_model(model_out)
    if info["join"] != "":
        raise SystemExit(f"model join is {info['join']!r}, expected \"\"")
    if info["raw"].get("tokenizer") != "zh":
        raise SystemExit(f"model tokenizer is {info['raw'].get('tokenizer')!r}, expected zh")
    cfg = info["config"]
    params = BeamParameters()  # the library's defaults

    entries = {e["id"]: e for e in read_manifest(args.manifest)}
    images = []
    for study in args.ids:
        e = entries[study]
        name = f"{study}.png"
        path = os.path.join(args.out, name)
        small = shrink16(read_png16(e["image_path"]))
        Image.fromarray(small).save(path, optimize=True)
        pixels = read_png16(path)  # what the Swift test will decode
        assert np.array_equal(pixels, small)
        results, probs = caption(model, info, pixels, 16, params)
        out = []
        for r in results:
            out.append({"tokens": [int(t) for t in r.tokens],
                        "strings": [info["vocab"][t] for t in r.tokens],
                        "text": detokenize(r.tokens, info["vocab"], info["join"], info["special"]),
                        "log_prob": float(r.log_prob), "score": float(r.score), "truncated": bool(r.truncated)})
        images.append({"file": name, "id": study, "split": e["split"], "width": int(small.shape[1]),
                       "height": int(small.shape[0]), "bits_stored": 16,
                       "findings": [f["kind"] for f in e.get("findings_spec", [])],
                       "findings_spec": e.get("findings_spec", []),
                       "findings_probabilities": dict(zip(info["labels"], [round(v, 4) for v in probs])),
                       "results": out})
        print(study, [f["kind"] for f in e.get("findings_spec", [])] or ["normal"], "->", out[0]["text"])

    expected = {"model": "model.safetensors", "join": info["join"], "tokenizer": "zh",
                "input_size": cfg.input_size,
                "beam": {"beam_width": params.beam, "max_results": params.results, "max_tokens": params.max_tokens,
                         "length_penalty": params.length_penalty, "suppress_unknown": params.suppress_unknown},
                "images": images}
    with open(os.path.join(args.out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
