"""Tests of `cxrcaption-cli caption` on folders and many files (--jsonl, progress, failures) and of its
attention heat maps (--heatmaps).

Uses the golden model (Tests/CXRKitTests/Fixtures/golden/model.safetensors: input 64, grid 2x2, seeded random
weights, 30-token vocabulary; see its README.md) and PNGs from Tests/CXRKitTests/Fixtures/intake (see its
PROVENANCE.md), so it runs everywhere. The captions are nonsense; what is tested is which images are run,
what is written for each, and that the heat maps show the attention the model returned.

Needs: pytest, numpy, Pillow; the CLI binary (env CXRCAPTION_CLI, else `swift build --show-bin-path`).

    python -m pytest Tests/python/test_caption_cli.py -v
"""

import colorsys
import json
import shutil
import signal
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from cli_support import cli_path, run_cli, run_cli_on_terminal

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "Tests" / "CXRKitTests" / "Fixtures"
MODEL = FIXTURES / "golden" / "model.safetensors"
INTAKE = FIXTURES / "intake"
GOOD = ["hannover_006f3a8a_crop.png", "iu_cxr3_crop_rgb.png", "png_gray8.png", "png_palette.png"]




def caption(*args, model=MODEL):
    return run_cli("caption", "--model", model, "--max-tokens", 8, *args)


def read_jsonl(path):
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture
def folder(tmp_path):
    """good PNGs, a corrupt PNG, a text file and a DICOM-named file, a hidden PNG, and a subfolder."""
    root = tmp_path / "study"
    (root / "sub").mkdir(parents=True)
    for name in GOOD[:3]:
        shutil.copy(INTAKE / name, root / name)
    shutil.copy(INTAKE / "corrupt_truncated.png", root / "b_broken.png")
    (root / "notes.txt").write_text("not an image\n")
    (root / "scan.dcm").write_bytes(b"\0" * 132 + b"DICM")
    shutil.copy(INTAKE / "png_gray8.png", root / ".hidden.png")
    shutil.copy(INTAKE / "png_palette.png", root / "sub" / "deeper.PNG")
    return root


def test_folder_runs_every_png_and_reports_bad_ones(folder, tmp_path):
    missing = tmp_path / "missing.png"
    jsonl = tmp_path / "out.jsonl"
    done = caption("--jsonl", jsonl, "--json", folder, folder / "scan.dcm", missing)
    assert done.returncode == 1, done.stderr
    expected = sorted(str(folder / n) for n in GOOD[:3] + ["b_broken.png"]) + [str(folder / "scan.dcm"),
                                                                               str(missing)]
    lines = read_jsonl(jsonl)
    assert [line["image"] for line in lines] == expected  # sorted folder PNGs, then explicit files in order
    by_name = {Path(line["image"]).name: line for line in lines}
    for name in GOOD[:3]:
        assert by_name[name]["error"] is None
        assert by_name[name]["results"] and by_name[name]["results"][0]["tokens"]
        assert set(by_name[name]["findings"]) == {"cardiomegaly", "effusion", "pneumothorax"}
    assert "PNG" in by_name["b_broken.png"]["error"] and by_name["b_broken.png"]["results"] == []
    assert "not a PNG file (.dcm)" in by_name["scan.dcm"]["error"]
    assert "no such file" in by_name["missing.png"]["error"]
    # stderr names each failure and the count; the skipped files are not mentioned.
    assert "b_broken.png: error:" in done.stderr and "scan.dcm: error:" in done.stderr
    assert "3 of 6 images failed" in done.stderr
    assert "notes.txt" not in done.stderr and "hidden" not in done.stderr + jsonl.read_text()
    # --json prints the same objects as --jsonl, at the end.
    assert json.loads(done.stdout) == lines


def test_jsonl_equals_json_of_a_separate_run(folder, tmp_path):
    jsonl = tmp_path / "out.jsonl"
    with_lines = caption("--jsonl", jsonl, "--beam", 2, "--results", 2, folder)
    only_json = caption("--json", "--beam", 2, "--results", 2, folder)
    assert with_lines.returncode == only_json.returncode == 1
    lines = read_jsonl(jsonl)
    assert lines == json.loads(only_json.stdout)
    assert all(len(line["results"]) == 2 for line in lines if line["error"] is None)
    keys = {"image", "results", "findings", "error"}
    assert all(set(line) == keys for line in lines)
    result = next(line for line in lines if line["error"] is None)["results"][0]
    assert set(result) == {"text", "tokens", "log_prob", "probability", "truncated"}
    assert result["probability"] == pytest.approx(np.exp(result["log_prob"]), rel=1e-12)
    # Text output names every image, the failed one on stderr only.
    text = caption("--beam", 2, "--results", 2, folder)
    assert [l for l in text.stdout.splitlines() if not l.startswith(" ")] == \
        [line["image"] for line in lines if line["error"] is None]


def test_jsonl_lines_are_written_as_images_finish_and_survive_ctrl_c(tmp_path):
    many = tmp_path / "many"
    many.mkdir()
    for i in range(400):
        shutil.copy(INTAKE / "png_gray8.png", many / ("%03d.png" % i))
    jsonl = tmp_path / "out.jsonl"
    process = subprocess.Popen([cli_path(), "caption", "--model", str(MODEL), "--max-tokens", "60", "--quiet",
                                "--jsonl", str(jsonl), str(many)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and process.poll() is None:
            if jsonl.exists() and jsonl.read_bytes().count(b"\n") >= 3:
                break
            time.sleep(0.005)
        assert process.poll() is None, "the run ended before its JSON Lines appeared"
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    data = jsonl.read_bytes()
    assert data.endswith(b"\n")
    lines = [json.loads(line) for line in data.decode().splitlines()]
    assert 3 <= len(lines) < 400
    assert [line["image"] for line in lines] == [str(many / ("%03d.png" % i)) for i in range(len(lines))]


def huge_batchnorm_model(folder):
    """The golden model with every norm0 weight 3e38: finite, so it loads, but its log-probabilities are -inf."""
    data = MODEL.read_bytes()
    length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + length])
    body = bytearray(data[8 + length:])
    entry = header["encoder.features.norm0.weight"]
    assert entry["dtype"] == "F32"
    begin, end = entry["data_offsets"]
    body[begin:end] = struct.pack("<f", 3e38) * ((end - begin) // 4)
    path = folder / "huge_bn.safetensors"
    path.write_bytes(data[:8 + length] + bytes(body))
    return path


def test_non_finite_numbers_are_json_null_and_do_not_fail_the_run(tmp_path):
    model = huge_batchnorm_model(tmp_path)
    image = INTAKE / "png_gray8.png"
    done = caption("--json", image, model=model)
    assert done.returncode == 0, done.stderr
    [report] = json.loads(done.stdout)
    assert report["error"] is None and report["results"]
    assert all(r["log_prob"] is None for r in report["results"]), report["results"]
    assert all(r["probability"] is None or r["probability"] == 0 for r in report["results"])

    lines = tmp_path / "out.jsonl"
    done = caption("--jsonl", lines, image, image, model=model)
    assert done.returncode == 0, done.stderr
    records = read_jsonl(lines)
    assert len(records) == 2 and all(r["results"][0]["log_prob"] is None for r in records)

    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(json.dumps({"image": str(image), "report": "No effusion.", "split": "test"}) + "\n")
    done = run_cli("eval", "--model", model, "--manifest", manifest, "--json", "--max-tokens", 8,
                   "--output", tmp_path / "eval.jsonl")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["failures"] == 0
    [record] = read_jsonl(tmp_path / "eval.jsonl")
    assert record["candidates"][0]["log_prob"] is None


def test_recursive_adds_subfolders_in_sorted_order(folder, tmp_path):
    jsonl = tmp_path / "out.jsonl"
    caption("--jsonl", jsonl, "--recursive", "--quiet", folder)
    images = [line["image"] for line in read_jsonl(jsonl)]
    assert str(folder / "sub" / "deeper.PNG") in images
    assert images == sorted(images) and len(images) == 5


def test_only_empty_folders_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "a.jpg").write_bytes(b"\xff\xd8\xff")
    done = caption(tmp_path / "empty")
    assert done.returncode != 0
    assert "no PNG files in this folder" in done.stderr and "no PNG images to caption" in done.stderr


def test_progress_lines_when_not_a_terminal(folder):
    done = caption("--quiet", folder)
    assert "images (" not in done.stderr
    done = caption(folder)
    assert "caption: 4/4 images (100%)" in done.stderr and "failed 1" in done.stderr


def test_progress_bar_on_a_terminal(folder):
    done, text = run_cli_on_terminal("caption", "--model", MODEL, "--max-tokens", 4, folder)
    assert done.returncode == 1
    assert "\rcaption [" in text and "4/4" in text and "#" * 30 in text and "failed 1" in text
    assert "images (" not in text  # not the plain lines
    assert "b_broken.png: error:" in text


# ---------------------------------------------------------------------------------------------- heat maps

def hue(rgb):
    return colorsys.rgb_to_hsv(*(np.asarray(rgb, dtype=float) / 255))[0] * 360


@pytest.fixture(scope="module")
def heatmaps(tmp_path_factory):
    out = tmp_path_factory.mktemp("heatmaps")
    images = [INTAKE / GOOD[0], INTAKE / "png_rgb8.png"]
    done = run_cli("caption", "--model", MODEL, "--max-tokens", 8, "--heatmaps", out / "maps", "--json", *images)
    assert done.returncode == 0, done.stderr
    return out / "maps", json.loads(done.stdout)


def test_one_panel_per_token_and_an_overview(heatmaps):
    root, reports = heatmaps
    vocab = json.loads((FIXTURES / "golden" / "cases.json").read_text())["vocab"]
    for report in reports:
        folder = Path(report["heatmaps"])
        assert folder.parent == root and folder.name == Path(report["image"]).stem
        tokens = report["results"][0]["tokens"]
        record = json.loads((folder / "attention.json").read_text())
        assert record["grid"] == 2 and record["input_size"] == 64 and record["panel_side"] == 256
        assert [t["id"] for t in record["tokens"]] == tokens
        panels = sorted(p.name for p in folder.glob("[0-9]*_*.png"))
        assert panels == sorted(t["file"] for t in record["tokens"]) and len(panels) == len(tokens)
        for position, entry in enumerate(record["tokens"], 1):
            assert entry["token"] == vocab[entry["id"]]
            assert entry["file"].startswith("%02d_" % position)
            assert len(entry["attention"]) == 4 and sum(entry["attention"]) == pytest.approx(1, abs=1e-4)
            with Image.open(folder / entry["file"]) as image:
                assert image.mode == "RGB" and image.width == 256 and 256 + 16 <= image.height <= 256 + 40
        with Image.open(folder / "overview.png") as sheet:
            columns = int(np.ceil(np.sqrt(len(tokens) + 1)))
            assert sheet.width >= columns * 256 and sheet.height > 256 * ((len(tokens) + columns) // columns)


def test_punctuation_tokens_get_names(heatmaps):
    root, _ = heatmaps
    names = {p.name[3:] for p in (root / "png_rgb8").glob("[0-9]*_*.png")}
    assert "comma.png" in names and "lparen.png" in names and "nou.png" in names  # ",", "(", "<nou>"


def panel_pixels(folder, entry):
    with Image.open(folder / entry["file"]) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    return pixels[-256:]  # the image under the label strip


def test_colour_under_each_region_follows_its_attention(heatmaps):
    root, reports = heatmaps
    checked = 0
    for report in reports:
        folder = Path(report["heatmaps"])
        record = json.loads((folder / "attention.json").read_text())
        grid, side = record["grid"], record["panel_side"]
        for entry in record["tokens"]:
            weights = np.asarray(entry["attention"])
            heat = weights / weights.max()
            pixels = panel_pixels(folder, entry)
            centres = [pixels[int((y + 0.5) * side / grid), int((x + 0.5) * side / grid)]
                       for y in range(grid) for x in range(grid)]
            hues = [hue(c) for c in centres]  # turbo: hue falls from blue (~246) to red (~5) as heat rises
            hottest = int(np.argmax(weights))
            assert hues[hottest] == min(hues), (entry, hues)
            if heat[hottest] - np.partition(heat, -2)[-2] > 0.2:  # a peaked map: the hottest spot is red
                assert hues[hottest] < 20, (entry, hues)
            for i in range(len(heat)):
                for j in range(len(heat)):
                    if heat[i] > heat[j] + 0.1:
                        assert hues[i] < hues[j], (entry["file"], i, j, heat, hues)
                        checked += 1
    assert checked > 0


def test_panels_differ_where_attention_differs(heatmaps):
    root, reports = heatmaps
    folder = Path(reports[1]["heatmaps"])
    entries = json.loads((folder / "attention.json").read_text())["tokens"]
    pairs = [(a, b) for a in entries for b in entries
             if np.abs(np.subtract(a["attention"], b["attention"])).max() > 0.05]
    assert pairs, "the fixture should have tokens attending differently"
    a, b = pairs[0]
    assert np.abs(panel_pixels(folder, a) - panel_pixels(folder, b)).max() > 30
    # The image under the heat is what the model saw: where the heat (and so the blend) is the same, the
    # pixels rank like the preprocessed image's.
    run_cli("preprocess", INTAKE / "png_rgb8.png", "-o", folder / "seen.png", "--size", 64)
    with Image.open(folder / "seen.png") as seen:
        gray = np.asarray(seen).astype(int).repeat(4, axis=0).repeat(4, axis=1)
    pixels = panel_pixels(folder, a).sum(axis=2)
    quadrant = (slice(8, 56), slice(8, 56))  # inside one cell, away from the interpolation
    correlation = np.corrcoef(gray[quadrant].ravel(), pixels[quadrant].ravel())[0, 1]
    assert correlation > 0.9


def test_rerun_replaces_old_panels_and_same_names_get_separate_folders(tmp_path):
    out = tmp_path / "maps"
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(INTAKE / "png_gray8.png", other / GOOD[0])  # same file name, different image
    done = caption("--heatmaps", out, INTAKE / GOOD[0], other / GOOD[0])
    assert done.returncode == 0, done.stderr
    stem = Path(GOOD[0]).stem
    assert (out / stem / "overview.png").exists() and (out / (stem + "-2") / "overview.png").exists()
    done = run_cli("caption", "--model", MODEL, "--max-tokens", 3, "--heatmaps", out, INTAKE / GOOD[0])
    assert done.returncode == 0, done.stderr
    assert len(list((out / stem).glob("[0-9]*_*.png"))) == 3


def chinese_model(path):
    """The golden model with its words replaced by Chinese ones and join "" (only the metadata changes)."""
    data = MODEL.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    meta = header["__metadata__"]
    vocab = json.loads(meta["vocab"])
    words = ["胸腔积液", "心影", "肺纹理", "增粗", "未见", "异常", "。", "，"]
    vocab = vocab[:4] + [words[i % len(words)] + ("" if i < len(words) else str(i)) for i in range(len(vocab) - 4)]
    meta["vocab"] = json.dumps(vocab, ensure_ascii=False, separators=(",", ":"))
    meta["join"] = ""
    meta["tokenizer"] = "zh"
    encoded = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data[8 + length:])
    return vocab


def test_chinese_tokens_are_in_file_names(tmp_path):
    model = tmp_path / "zh.safetensors"
    vocab = chinese_model(model)
    done = caption("--heatmaps", tmp_path / "maps", "--json", INTAKE / GOOD[0], model=model)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)[0]
    folder = Path(report["heatmaps"])
    record = json.loads((folder / "attention.json").read_text(encoding="utf-8"))
    for position, entry in enumerate(record["tokens"], 1):
        token = vocab[entry["id"]]
        assert entry["token"] == token
        expected = {"。": "period", "，": "comma", "<nou>": "nou"}.get(token, token)
        assert entry["file"] == "%02d_%s.png" % (position, expected)
        assert (folder / entry["file"]).exists()
    assert (folder / "overview.png").exists()
