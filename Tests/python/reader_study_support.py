"""Shared fixtures of the reader-study tests: a small manifest over committed images, and making a packet.

The golden model (Tests/CXRKitTests/Fixtures/golden/model.safetensors: input 64, seeded random weights) writes
nonsense quickly, which is all the packet tests need; the images are committed PNGs of the intake and reader
fixtures (PROVENANCE.md there). The human reports are real Indiana University impressions (Open-i, CC
BY-NC-ND 4.0, from ../shared/data/iu-reports/iu_reports_parsed.json) written in deliberately varied forms:
capitals, missing or doubled final punctuation, spaces before punctuation, redactions, numbered lists.
"""
import json
from pathlib import Path

from cli_support import run_cli

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "Tests" / "CXRKitTests" / "Fixtures"
MODEL = FIXTURES / "golden" / "model.safetensors"
IMAGES = [FIXTURES / "intake" / name for name in (
    "hannover_006f3a8a_crop.png", "iu_cxr3_crop_rgb.png", "made_gray16_bits12_garbage.png",
    "made_gray8_one_pixel_differs.png")] + sorted((REPO / "models" / "samples").glob("phantom-*.png"))

# Source text -> the form both sides are shown in (ReaderStudyText.normalize).
NORMALISED = {
    "Normal chest x-XXXX.": "Normal chest x-XXXX.",
    "normal chest x-XXXX": "Normal chest x-XXXX.",
    "No acute cardiopulmonary abnormality": "No acute cardiopulmonary abnormality.",
    "NO ACUTE CARDIOPULMONARY ABNORMALITY .": "No acute cardiopulmonary abnormality.",
    "1. Stable appearance of the chest. No acute process.": "1. Stable appearance of the chest. No acute process.",
    "1 . stable appearance of the chest .  no acute process": "1. Stable appearance of the chest. No acute process.",
    "Basilar atelectasis. No confluent lobar consolidation or pleural effusion!!":
        "Basilar atelectasis. No confluent lobar consolidation or pleural effusion.",
    "  Heart size normal ,lungs clear ;no XXXX. ": "Heart size normal, lungs clear; no XXXX.",
    "Low lung volumes (bibasilar atelectasis).": "Low lung volumes (bibasilar atelectasis).",
    "low lung volumes ( bibasilar atelectasis )": "Low lung volumes (bibasilar atelectasis).",
}


def write_manifest(folder, studies=24, split="test"):
    """A manifest of `studies` one-image studies (and two more in another split); returns its path."""
    texts = list(NORMALISED)
    lines = []
    for i in range(studies):
        lines.append({"image": str(IMAGES[i % len(IMAGES)]), "report": texts[i % len(texts)], "split": split,
                      "id": "img%02d" % i, "study": "study%02d" % i, "view": "PA"})
    for i in range(2):
        lines.append({"image": str(IMAGES[i]), "report": texts[i], "split": "train", "id": "train%d" % i})
    path = Path(folder) / "manifest.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def make_packet(folder, model_cases=5, human_cases=5, seed=7, name="packet", extra=()):
    """Runs `reader-study make`; returns (CompletedProcess, packet folder, key path)."""
    folder = Path(folder)
    manifest = folder / "manifest.jsonl"
    if not manifest.exists():
        write_manifest(folder)
    out = folder / name
    key = folder / (name + "-key.json")
    done = run_cli("reader-study", "make", "--model", MODEL, "--manifest", manifest, "--model-cases", model_cases,
                   "--human-cases", human_cases, "--seed", seed, "--out", out, "--key", key, "--quiet", *extra,
                   timeout=600)
    return done, out, key
