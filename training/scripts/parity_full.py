#!/usr/bin/env python3
r"""Full-size parity: the Swift core (through `cxrcaption-test-tool parity`) against the PyTorch reference.

    swift build -c release --product cxrcaption-test-tool
    python training/scripts/parity_full.py [--tool .build/release/cxrcaption-test-tool] \
        [--images ../shared/data/real-cxr] [--keep DIR]

Run with the training virtualenv's Python (scripts/setup --training; it imports the installed
cxrcaption_ref). The defaults are relative to the checkout this script is in: the release build's
cxrcaption-test-tool (a test executable of the Swift package, not shipped), and ../shared/data beside the
checkout for the images and the IU reports.

DenseNet-121 sizes, h 512, e 256, a 512, a vocabulary of ~300 tokens (the most frequent IU report words),
seeded random weights with sensible activation scales, exported to a temporary cxrcaption/1 file. For
every image (PNG and JPEG via Pillow, DICOM via pydicom; undecodable files are skipped with a message)
the model input is made with training/cxrcaption_ref/preprocess.py (intake v1), the reference computes
V, teacher-forced logits and the beam results, and the Swift test tool is run with

    parity --model M --input X.f32 --tokens t1,t2,... --features-out V.f32 --logits-out L.f32
           --beam-json B.json --beam 3 --results 3 --max-tokens 60

Printed per image: max|V_swift - V_torch| / max|V_torch|, the max logit error over the first 5 steps
(relative to the max |logit| there), whether the top-3 token sequences are identical, the largest
log-probability difference of the results (dlogp) and the reference's smallest decision margin (how close
the beam came to a tie; a mismatch with a margin near 1e-6 is a near-tie, not a bug). Exit status
1 when a bound fails (1e-4; identical), 2 when the test tool cannot be run.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from cxrcaption_ref.beam import BeamParameters, SpecialTokens, detokenize, model_beam_search
from cxrcaption_ref.export import export_model
from cxrcaption_ref.make_golden import margins
from cxrcaption_ref.model import CaptionModel, ModelConfig
from cxrcaption_ref.synthetic import add_length_counter, crude_gray_image, randomize_weights, round_to_half_and_bfloat

REPO = Path(__file__).resolve().parents[2]  # the checkout this script is in (training/scripts/..)
DEFAULT_TOOL = REPO / ".build" / "release" / "cxrcaption-test-tool"

BOUND = 1e-4
LOGIT_STEPS = 5
SPECIALS = ["<pad>", "<start>", "<end>", "<nou>"]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".dcm"}


def build_vocab(size: int, reports: Path) -> list[str]:
    """The specials, then the most frequent lower-case words and punctuation of the IU impressions and
    findings (or w0, w1, ... when the reports are absent)."""
    words: list[str] = []
    if reports.exists():
        counts: collections.Counter = collections.Counter()
        for report in json.loads(reports.read_text()):
            for field in ("impression", "findings"):
                counts.update(re.findall(r"[a-z]+|[.,;:]", (report.get(field) or "").lower()))
        words = [w for w, _ in counts.most_common() if w != "xxxx"]
    words = words[: size - len(SPECIALS)]
    words += [f"w{i}" for i in range(size - len(SPECIALS) - len(words))]
    return SPECIALS + words


def _first_value(value) -> float:
    """A DICOM DS value or the first of a multi-valued one."""
    try:
        return float(value[0])
    except TypeError:
        return float(value)


def read_image(path: Path, size: int):
    """(8-bit equalized size x size image, how it was made). Uses the intake pipeline when present."""
    try:
        from cxrcaption_ref import preprocess
    except ImportError:
        preprocess = None
    if preprocess is None:
        return crude_gray_image(path, size), "crude (no preprocess.py)"
    kwargs = {}
    if path.suffix.lower() == ".dcm":
        import pydicom
        ds = pydicom.dcmread(str(path))
        array = ds.pixel_array
        kwargs["photometric"] = str(getattr(ds, "PhotometricInterpretation", "MONOCHROME2"))
        kwargs["bits_stored"] = int(getattr(ds, "BitsStored", 16))
        kwargs["rescale_slope"] = float(getattr(ds, "RescaleSlope", 1.0) or 1.0)
        kwargs["rescale_intercept"] = float(getattr(ds, "RescaleIntercept", 0.0) or 0.0)
        center, width = getattr(ds, "WindowCenter", None), getattr(ds, "WindowWidth", None)
        if center is not None and width is not None:
            kwargs["window"] = (_first_value(center), _first_value(width))
        if array.dtype not in (np.uint8, np.uint16):
            array = array.astype(np.uint16)
        if array.dtype == np.uint8:
            kwargs.pop("bits_stored")
        how = "preprocess v1 (DICOM)"
    else:
        from PIL import Image
        with Image.open(path) as image:
            if image.mode in ("L", "RGB", "RGBA"):
                array = np.asarray(image)
            elif image.mode in ("I;16", "I;16B", "I"):
                array = np.asarray(image).astype(np.uint16)
            else:
                array = np.asarray(image.convert("RGB"))
        how = f"preprocess v1 ({path.suffix.lower()[1:]})"
    return preprocess.equalized_image(array, size=size, **kwargs), how


def model_input(equalized: np.ndarray, config: ModelConfig) -> np.ndarray:
    try:
        from cxrcaption_ref import preprocess
        return preprocess.model_input(equalized, mean=config.mean, std=config.std, in_channels=config.in_channels)
    except ImportError:
        x = equalized.astype(np.float32) / np.float32(255)
        return np.stack([(x - np.float32(config.mean[0])) / np.float32(config.std[0])] * config.in_channels)


def find_images(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_f32(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    data = np.fromfile(path, dtype="<f4")
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path.name}: {data.size} floats, expected {shape} = {int(np.prod(shape))}")
    return data.reshape(shape)


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    scale = float(np.abs(want).max())
    return float(np.abs(got.astype(np.float64) - want.astype(np.float64)).max()) / (scale if scale > 0 else 1.0)


def make_model(config: ModelConfig, vocab: list[str], calibration: torch.Tensor, seed: int) -> CaptionModel:
    special = SpecialTokens.from_vocab(vocab)
    torch.manual_seed(seed)
    model = CaptionModel(config, len(vocab))
    randomize_weights(model, calibration, seed, output_scale=6.0, attention_scale=4.0, context_scale=1.0,
                      lstm_scale=3.0, token_bias={special.nou: 1.0})
    add_length_counter(model, special.end, weight=8.0, bias=-6.0, rate=0.2)
    return model.eval()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tool", type=Path, default=DEFAULT_TOOL,
                        help="the Swift package's cxrcaption-test-tool (default: this checkout's release build)")
    parser.add_argument("--images", type=Path, default=REPO.parent / "shared" / "data" / "real-cxr")
    parser.add_argument("--reports", type=Path,
                        default=REPO.parent / "shared" / "data" / "iu-reports" / "iu_reports_parsed.json")
    parser.add_argument("--vocab-size", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--beam", type=int, default=3)
    parser.add_argument("--results", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=60)
    parser.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="f32",
                        help="storage of the weights file (weights are rounded first, so torch computes the same model)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N images (0 = all)")
    parser.add_argument("--small", action="store_true", help="the golden fixtures' small sizes (for testing the script)")
    parser.add_argument("--keep", type=Path, help="keep the model and per-image files here")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per test-tool run")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    if not args.tool.exists():
        print(f"error: no test tool at {args.tool} (build it: swift build -c release --product cxrcaption-test-tool)",
              file=sys.stderr)
        return 2
    probe = subprocess.run([str(args.tool), "parity", "--help"], capture_output=True, text=True, timeout=120)
    if probe.returncode != 0 or "--features-out" not in probe.stdout + probe.stderr:
        print(f"error: {args.tool} has no `parity` subcommand (its help does not list --features-out)",
              file=sys.stderr)
        return 2
    if not args.images.is_dir():
        print(f"error: no images at {args.images}", file=sys.stderr)
        return 2
    config = ModelConfig()
    if args.small:
        config = ModelConfig(block_config=(2, 2, 2, 2), growth_rate=8, bn_size=2, num_init_features=16,
                             input_size=64, hidden=32, embed=16, attention_dim=24)
    vocab = build_vocab(args.vocab_size, args.reports)
    special = SpecialTokens.from_vocab(vocab)
    params = BeamParameters(beam=args.beam, results=args.results, max_tokens=args.max_tokens)

    images = find_images(args.images)
    if args.limit:
        images = images[: args.limit]
    inputs = []
    for path in images:
        name = str(path.relative_to(args.images))
        if len(name) > 56:
            name = name[:24] + "..." + name[-29:]
        try:
            equalized, how = read_image(path, config.input_size)
        except Exception as error:  # an undecodable file is reported, not fatal
            print(f"skip {name}: {type(error).__name__}: {error}")
            continue
        inputs.append((name, how, torch.from_numpy(model_input(equalized, config))))
    if not inputs:
        print("error: no image could be read", file=sys.stderr)
        return 2

    started = time.time()
    calibration = torch.stack([x for _, _, x in inputs[:8]])
    model = make_model(config, vocab, calibration, args.seed)
    if args.dtype != "f32":
        round_to_half_and_bfloat(model)

    work = Path(tempfile.mkdtemp(prefix="cxr-parity-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    model_path = work / f"parity-{args.dtype}.safetensors"
    export_model(model, model_path, vocab, special, " ", dtype=args.dtype, tokenizer="en",
                 name="parity (random weights)", description=f"seed {args.seed}")
    print(f"model: {config.feature_channels} features, hidden {config.hidden}, embed {config.embed}, "
          f"attention {config.attention_dim}, vocab {len(vocab)}, {args.dtype}, {model_path} "
          f"({time.time() - started:.1f} s)")
    header = f"{'image':<58} {'V rel err':>10} {'logit err':>10} {'top-3 same':>10} {'dlogp':>8} {'margin':>8}  top-1"
    print(header)
    print("-" * len(header))

    worst_v, worst_l, all_same, failures, tool_failures = 0.0, 0.0, True, 0, 0
    for index, (name, how, x) in enumerate(inputs):
        with torch.no_grad():
            V = model.encode(x.unsqueeze(0))
            trace: list = []
            results = model_beam_search(model, V, special, params, trace)
            margin = margins(trace, results)
            top = results[0]
            teacher = (top.tokens + ([] if top.truncated else [special.end]))[:LOGIT_STEPS]
            logits, _ = model.teacher_forced(V, torch.tensor([teacher]), special.start)
        stem = work / f"image{index}"
        x.numpy().astype("<f4").tofile(f"{stem}.input.f32")
        command = [str(args.tool), "parity", "--model", str(model_path), "--input", f"{stem}.input.f32",
                   "--tokens", ",".join(str(t) for t in teacher), "--features-out", f"{stem}.V.f32",
                   "--logits-out", f"{stem}.L.f32", "--beam-json", f"{stem}.beam.json",
                   "--beam", str(params.beam), "--results", str(params.results),
                   "--max-tokens", str(params.max_tokens)]
        run = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
        if run.returncode != 0:
            print(f"{name:<58} test tool failed ({run.returncode}): {run.stderr.strip()[-400:]}")
            failures += 1
            tool_failures += 1
            all_same = False
            continue
        try:
            v_swift = read_f32(Path(f"{stem}.V.f32"), tuple(V.shape[1:]))
            l_swift = read_f32(Path(f"{stem}.L.f32"), (len(teacher), len(vocab)))
            beams = json.loads(Path(f"{stem}.beam.json").read_text())
        except (ValueError, OSError) as error:
            print(f"{name:<58} bad test-tool output: {error}")
            failures += 1
            tool_failures += 1
            all_same = False
            continue
        v_err = relative_error(v_swift, V[0].numpy())
        l_err = relative_error(l_swift, logits[0].numpy())
        same = [b["tokens"] for b in beams] == [r.tokens for r in results] and \
            [bool(b["truncated"]) for b in beams] == [r.truncated for r in results]
        dlogp = max((abs(b["log_prob"] - r.log_prob) for b, r in zip(beams, results)), default=float("nan"))
        worst_v, worst_l = max(worst_v, v_err), max(worst_l, l_err)
        all_same &= same
        ok = v_err <= BOUND and l_err <= BOUND and same
        failures += not ok
        text = detokenize(top.tokens, vocab, " ")
        label = f"{name} [{how.split(' ')[-1].strip('()')}]" if how.startswith("crude") else name
        print(f"{label:<58} {v_err:>10.2e} {l_err:>10.2e} {'yes' if same else 'NO':>10} {dlogp:>8.1e} {margin:>8.1e}  "
              f"{text[:40]}{'...' if len(text) > 40 else ''}{' (truncated)' if top.truncated else ''}")
    print("-" * len(header))
    verdict = "PASS" if failures == 0 else "FAIL"
    print(f"summary: {len(inputs)} images, max V rel err {worst_v:.2e} (bound {BOUND:g}), max logit rel err over "
          f"{LOGIT_STEPS} steps {worst_l:.2e} (bound {BOUND:g}), top-{params.results} sequences identical: "
          f"{'all' if all_same else 'NOT all'}; test-tool failures {tool_failures}; {verdict} "
          f"({time.time() - started:.0f} s)")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
