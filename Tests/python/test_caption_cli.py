"""Tests of `cxrcaption-cli caption` on folders and many files (--jsonl, progress, failures, non-images), on
DICOM, JPEG and PNG, of its view selection (--views), and of its attention heat maps (--heatmaps).

Uses the golden model (Tests/CXRKitTests/Fixtures/golden/model.safetensors: input 64, grid 2x2, seeded random
weights, 30-token vocabulary; see its README.md), PNGs from Tests/CXRKitTests/Fixtures/intake, DICOM and JPEG
files from Tests/CXRKitTests/Fixtures/readers and Tests/integrations/fixtures (PROVENANCE.md in each), so it
runs everywhere. The captions are nonsense; what is tested is which images are run, what is written for each,
and that the heat maps show the attention the model returned.

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
READERS = FIXTURES / "readers"
DICOMS = REPO / "Tests" / "integrations" / "fixtures"
GOOD = ["hannover_006f3a8a_crop.png", "iu_cxr3_crop_rgb.png", "png_gray8.png", "png_palette.png"]
REPORT_KEYS = {"image", "results", "findings", "error", "view", "skipped"}




def caption(*args, model=MODEL):
    return run_cli("caption", "--model", model, "--max-tokens", 8, *args)


def read_jsonl(path):
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture
def folder(tmp_path):
    """Images of every kind (PNG, JPEG, DICOM with and without its extension), broken images (a corrupt PNG, a
    truncated JPEG, a .dcm that is not DICOM), non-images (a text file, random bytes), a hidden PNG and a
    subfolder."""
    root = tmp_path / "study"
    (root / "sub").mkdir(parents=True)
    for name in GOOD[:3]:
        shutil.copy(INTAKE / name, root / name)
    shutil.copy(INTAKE / "corrupt_truncated.png", root / "b_broken.png")
    jpeg = (READERS / "jpeg_gray.jpg").read_bytes()
    (root / "c_truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    shutil.copy(DICOMS / "rg1_small_jpeg_baseline.dcm", root / "d_chest.dcm")
    shutil.copy(READERS / "jpeg_ycbcr420.jpg", root / "e_photo.JPG")
    shutil.copy(DICOMS / "rg1_thumb_jpeg2000.dcm", root / "IM0001")  # DICOM by content, no extension
    (root / "notes.txt").write_text("not an image\n")
    (root / "data.bin").write_bytes(bytes(range(256)) * 3)
    (root / "scan.dcm").write_bytes(b"\0" * 132 + b"DICM")  # .dcm, but not DICOM
    shutil.copy(INTAKE / "png_gray8.png", root / ".hidden.png")
    shutil.copy(INTAKE / "png_palette.png", root / "sub" / "deeper.PNG")
    return root


IMAGES_IN_FOLDER = GOOD[:3] + ["b_broken.png", "c_truncated.jpg", "d_chest.dcm", "e_photo.JPG", "IM0001",
                               "scan.dcm"]
NON_IMAGES = ["data.bin", "notes.txt"]


def test_folder_runs_every_image_and_reports_bad_ones(folder, tmp_path):
    missing = tmp_path / "missing.png"
    jsonl = tmp_path / "out.jsonl"
    done = caption("--jsonl", jsonl, "--json", folder, folder / "scan.dcm", missing, folder / "notes.txt")
    assert done.returncode == 1, done.stderr
    expected = sorted(str(folder / n) for n in IMAGES_IN_FOLDER) + [str(folder / "scan.dcm"), str(missing),
                                                                    str(folder / "notes.txt")]
    lines = read_jsonl(jsonl)
    assert [line["image"] for line in lines] == expected  # sorted folder images, then explicit files in order
    by_name = {Path(line["image"]).name: line for line in lines}
    for name in GOOD[:3] + ["d_chest.dcm", "e_photo.JPG", "IM0001"]:
        assert by_name[name]["error"] is None, by_name[name]
        assert by_name[name]["results"] and by_name[name]["results"][0]["tokens"]
        assert set(by_name[name]["findings"]) == {"cardiomegaly", "effusion", "pneumothorax"}
    assert by_name["d_chest.dcm"]["view"] == by_name["IM0001"]["view"] == "PA"
    assert by_name["e_photo.JPG"]["view"] is None and by_name[GOOD[0]]["view"] is None
    assert "PNG" in by_name["b_broken.png"]["error"] and by_name["b_broken.png"]["results"] == []
    assert "JPEG" in by_name["c_truncated.jpg"]["error"] and "truncated" in by_name["c_truncated.jpg"]["error"]
    assert "DICOM" in by_name["scan.dcm"]["error"]
    assert "no such file" in by_name["missing.png"]["error"]
    assert "not an image (.txt)" in by_name["notes.txt"]["error"]
    # stderr names each failure and the count, and lists every non-image of the folder at the end.
    for name in ["b_broken.png", "c_truncated.jpg", "scan.dcm", "missing.png", "notes.txt"]:
        assert name + ": error:" in done.stderr, name
    assert "6 of 12 images failed" in done.stderr
    listing = done.stderr[done.stderr.index("2 files are not images"):]
    assert [l.strip() for l in listing.splitlines()[1:3]] == [str(folder / n) for n in NON_IMAGES]
    assert "not read: 1 hidden entry, 1 subfolder (--recursive searches them)" in done.stderr
    assert ".hidden.png" not in done.stderr + jsonl.read_text()
    # --json prints the same objects as --jsonl, at the end.
    assert json.loads(done.stdout) == lines


def test_non_images_are_listed_and_do_not_fail_the_run(tmp_path):
    root = tmp_path / "mixed"
    root.mkdir()
    shutil.copy(INTAKE / GOOD[0], root / "a.png")
    shutil.copy(READERS / "jpeg_gray.jpg", root / "b.jpeg")
    shutil.copy(DICOMS / "rg1_small.dcm", root / "c.dcm")
    (root / "readme.txt").write_text("words\n")
    (root / "report.pdf").write_bytes(b"%PDF-1.4\n")
    done = caption("--json", "--quiet", root)
    assert done.returncode == 0, done.stderr  # every image captioned; non-images only listed
    reports = json.loads(done.stdout)
    assert [Path(r["image"]).name for r in reports] == ["a.png", "b.jpeg", "c.dcm"]
    assert all(r["error"] is None and r["results"] for r in reports)
    assert "2 files are not images" in done.stderr
    assert str(root / "readme.txt") in done.stderr and str(root / "report.pdf") in done.stderr


def test_jsonl_equals_json_of_a_separate_run(folder, tmp_path):
    jsonl = tmp_path / "out.jsonl"
    with_lines = caption("--jsonl", jsonl, "--beam", 2, "--results", 2, folder)
    only_json = caption("--json", "--beam", 2, "--results", 2, folder)
    assert with_lines.returncode == only_json.returncode == 1
    lines = read_jsonl(jsonl)
    assert lines == json.loads(only_json.stdout)
    assert all(len(line["results"]) == 2 for line in lines if line["error"] is None)
    assert all(set(line) == REPORT_KEYS for line in lines)
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
    count = 1000  # a larger image and more of them than needed: the run must still be going at the signal
    for i in range(count):
        shutil.copy(INTAKE / "hannover_006f3a8a_crop.png", many / ("%04d.png" % i))
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
    assert 3 <= len(lines) < count
    assert [line["image"] for line in lines] == [str(many / ("%04d.png" % i)) for i in range(len(lines))]


def huge_batchnorm_model(folder):
    """The golden model with every norm0 weight 3e38: finite, but past the loader's limit of 1e9."""
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


def test_a_model_with_overflowing_weights_is_refused_at_load(tmp_path):
    model = huge_batchnorm_model(tmp_path)
    image = INTAKE / "png_gray8.png"
    done = caption("--json", image, model=model)
    assert done.returncode == 1 and done.stdout == ""
    assert "encoder.features.norm0.weight" in done.stderr and "finite" in done.stderr, done.stderr

    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(json.dumps({"image": str(image), "report": "No effusion.", "split": "test"}) + "\n")
    done = run_cli("eval", "--model", model, "--manifest", manifest, "--json", "--max-tokens", 8)
    assert done.returncode == 1 and "encoder.features.norm0.weight" in done.stderr, done.stderr


def test_non_finite_numbers_would_be_json_null():
    """JSON has no NaN: `jsonNumber` writes null. Results are finite now (the core refuses what would not be),
    so this checks the encoding of a finite run: numbers, never strings."""
    done = caption("--json", INTAKE / "png_gray8.png")
    assert done.returncode == 0, done.stderr
    [report] = json.loads(done.stdout)
    assert all(isinstance(r["log_prob"], float) for r in report["results"])


def test_recursive_adds_subfolders_in_sorted_order(folder, tmp_path):
    jsonl = tmp_path / "out.jsonl"
    done = caption("--jsonl", jsonl, "--recursive", "--quiet", folder)
    images = [line["image"] for line in read_jsonl(jsonl)]
    assert str(folder / "sub" / "deeper.PNG") in images
    assert images == sorted(images) and len(images) == len(IMAGES_IN_FOLDER) + 1
    assert "subfolder (" not in done.stderr


def test_only_empty_folders_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "a.txt").write_text("no image here\n")
    done = caption(tmp_path / "empty")
    assert done.returncode != 0
    assert "no images (DICOM, JPEG, PNG) in this folder" in done.stderr and "no images to caption" in done.stderr
    assert str(tmp_path / "empty" / "a.txt") in done.stderr  # listed, not silently dropped


def test_a_truncated_jpeg_fails_alone(tmp_path):
    jpeg = (READERS / "jpeg_gray.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(jpeg[:-40])
    done = caption("--json", tmp_path / "cut.jpg", READERS / "jpeg_gray.jpg")
    assert done.returncode == 1
    cut, whole = json.loads(done.stdout)
    assert "truncated" in cut["error"] and cut["results"] == []
    assert whole["error"] is None and whole["results"]


def test_images_over_the_pixel_limit_are_refused_from_their_header():
    # 206 bytes whose header claims 16384 x 16384 RGBA16 (2 GiB decoded): refused at once, with its size.
    start = time.monotonic()
    done = caption("--json", READERS / "too_large_16384_rgba16.png", INTAKE / "png_gray8.png")
    assert time.monotonic() - start < 30 and done.returncode == 1
    huge, small = json.loads(done.stdout)
    assert huge["error"] == ("PNG image is 16384 x 16384 = 268435456 pixels, more than the limit of 89478485 "
                             "(--max-pixels raises the limit)") and huge["results"] == []
    assert small["error"] is None and small["results"]
    # The limit applies to every reader and is raised by --max-pixels: png_gray8 is 23 x 17 = 391 pixels,
    # jpeg_gray 80 x 64, rg1_small_jpeg_baseline a compressed DICOM.
    for image, pixels in [(INTAKE / "png_gray8.png", 391), (READERS / "jpeg_gray.jpg", 80 * 64),
                          (DICOMS / "rg1_small_jpeg_baseline.dcm", None)]:
        refused = caption("--json", "--max-pixels", 390, image)
        assert refused.returncode == 1
        error = json.loads(refused.stdout)[0]["error"]
        assert "pixels, more than the limit of 390 (--max-pixels raises the limit)" in error, error
        if pixels:
            assert f"= {pixels} pixels" in error
            assert caption("--json", "--max-pixels", pixels, image).returncode == 0
    assert "--max-pixels must be at least 1" in caption("--max-pixels", 0, INTAKE / "png_gray8.png").stderr


def test_progress_lines_when_not_a_terminal(folder):
    done = caption("--quiet", folder)
    assert "images (" not in done.stderr
    done = caption(folder)
    total = len(IMAGES_IN_FOLDER)
    assert f"caption: {total}/{total} images (100%)" in done.stderr and "failed 3" in done.stderr


def test_progress_bar_on_a_terminal(folder):
    done, text = run_cli_on_terminal("caption", "--model", MODEL, "--max-tokens", 4, folder)
    assert done.returncode == 1
    total = len(IMAGES_IN_FOLDER)
    assert "\rcaption [" in text and f"{total}/{total}" in text and "#" * 30 in text and "failed 3" in text
    assert "images (" not in text  # not the plain lines
    assert "b_broken.png: error:" in text


# ------------------------------------------------------------------------------------------- kinds, views

def test_dicom_jpeg_and_png_are_captioned_like_their_pixels(tmp_path):
    """Each kind is read as its reference reads it: a JPEG gives the captions of Pillow's decode saved as a PNG,
    an 8-bit MONOCHROME2 DICOM (no window) those of pydicom's pixels saved as a PNG, and the signed + rescaled
    DICOM copy those of the unsigned original."""
    import pydicom
    files = [DICOMS / "rg1_small.dcm", DICOMS / "rg1_small_signed_rescaled.dcm", DICOMS / "rgb_planar.dcm",
             READERS / "jpeg_ycbcr420.jpg", DICOMS / "rg1_small_jpeg_baseline.dcm", READERS / "rle_mono16.dcm",
             INTAKE / GOOD[0]]
    done = caption("--json", *files)
    assert done.returncode == 0, done.stderr
    reports = json.loads(done.stdout)
    assert [r["view"] for r in reports] == ["PA", "PA", "PA", None, "PA", None, None]
    assert all(r["error"] is None and r["skipped"] is None and r["results"] for r in reports)
    assert reports[0]["results"] == reports[1]["results"]
    with Image.open(READERS / "jpeg_ycbcr420.jpg") as image:
        image.save(tmp_path / "jpeg.png")
    Image.fromarray(pydicom.dcmread(DICOMS / "rg1_small_jpeg_baseline.dcm").pixel_array).save(tmp_path / "dcm.png")
    again = json.loads(caption("--json", tmp_path / "jpeg.png", tmp_path / "dcm.png").stdout)
    assert again[0]["results"] == reports[3]["results"]
    assert again[1]["results"] == reports[4]["results"]


def test_lateral_views_are_skipped_unless_views_all(tmp_path):
    lateral = READERS / "lateral_signed12_2frames.dcm"
    frontal = DICOMS / "rg1_small.dcm"
    unknown = READERS / "rle_mono16.dcm"  # no ViewPosition
    done = caption("--json", lateral, frontal, unknown)
    assert done.returncode == 0, done.stderr  # skipping is not failing
    skipped, pa, none = json.loads(done.stdout)
    assert skipped["view"] == "LL" and skipped["results"] == [] and skipped["error"] is None
    assert "LL" in skipped["skipped"] and "lateral" in skipped["skipped"] and "--views all" in skipped["skipped"]
    assert f"{lateral}: skipped: view LL (lateral)" in done.stderr
    assert "1 image skipped for the view" in done.stderr
    assert pa["view"] == "PA" and pa["results"] and pa["skipped"] is None
    assert none["view"] is None and none["results"]
    text = caption(lateral, frontal)
    assert str(lateral) not in text.stdout and str(frontal) in text.stdout

    done = caption("--json", "--views", "all", lateral, frontal)
    assert done.returncode == 0, done.stderr
    lat, pa = json.loads(done.stdout)
    assert lat["view"] == "LL" and lat["results"] and lat["skipped"] is None
    assert "skipped" not in done.stderr

    bad = caption("--views", "sideways", frontal)
    assert bad.returncode != 0 and "sideways" in bad.stderr


# ---------------------------------------------------------------------------------------------- heat maps

def hue(rgb):
    return colorsys.rgb_to_hsv(*(np.asarray(rgb, dtype=float) / 255))[0] * 360


def first_loop(tokens):
    """The CLI's loop rule (HeatmapPanelPlan.firstLoop), written again: the earliest index p where the n tokens
    before p come again right from p (n >= 2), or one token stands three times in a row (n = 1)."""
    for p in range(1, len(tokens)):
        if p + 1 < len(tokens) and tokens[p - 1] == tokens[p] == tokens[p + 1]:
            return p, 1
        for n in range(2, p + 1):
            if p + n <= len(tokens) and tokens[p - n:p] == tokens[p:p + n]:
                return p, n
    return None


@pytest.fixture(scope="module")
def heatmaps(tmp_path_factory):
    out = tmp_path_factory.mktemp("heatmaps")
    images = [INTAKE / GOOD[0], INTAKE / "png_rgb8.png", INTAKE / "iu_cxr3_crop_rgb.png"]
    done = run_cli("caption", "--model", MODEL, "--max-tokens", 8, "--heatmaps", out / "maps", "--json", *images)
    assert done.returncode == 0, done.stderr
    return out / "maps", json.loads(done.stdout)


def test_panels_for_the_tokens_before_a_loop_and_an_overview(heatmaps):
    root, reports = heatmaps
    vocab = json.loads((FIXTURES / "golden" / "cases.json").read_text())["vocab"]
    for report in reports:
        folder = Path(report["heatmaps"])
        assert folder.parent == root and folder.name == Path(report["image"]).stem
        tokens = report["results"][0]["tokens"]
        record = json.loads((folder / "attention.json").read_text())
        assert record["grid"] == 2 and record["input_size"] == 64
        loop = first_loop(tokens)
        drawn = min(loop[0] if loop else len(tokens), 24)
        assert record["drawn"] == drawn
        assert record["loop"] == (None if loop is None else {"start": loop[0] + 1, "period": loop[1]})
        assert bool(record["notes"]) == (loop is not None or report["results"][0]["truncated"])
        assert [t["id"] for t in record["tokens"]] == tokens  # every token's map, drawn or not
        panels = sorted(p.name for p in folder.glob("[0-9]*_*.png"))
        assert panels == sorted(t["file"] for t in record["tokens"][:drawn]) and len(panels) == drawn
        assert all(t["file"] is None for t in record["tokens"][drawn:])
        for position, entry in enumerate(record["tokens"], 1):
            assert entry["token"] == vocab[entry["id"]]
            assert len(entry["attention"]) == 4 and sum(entry["attention"]) == pytest.approx(1, abs=1e-4)
            if entry["file"] is None:
                continue
            assert entry["file"].startswith("%02d_" % position)
            with Image.open(folder / entry["file"]) as image:
                assert image.mode == "RGB" and image.size == (record["panel_width"], record["panel_height"])
        with Image.open(folder / "overview.png") as sheet:
            assert sheet.width >= 2 * record["panel_width"] and sheet.height > record["panel_height"]


def test_panels_keep_the_original_aspect(heatmaps):
    root, reports = heatmaps
    for report in reports:
        record = json.loads((Path(report["heatmaps"]) / "attention.json").read_text())
        with Image.open(report["image"]) as original:
            width, height = original.size
        assert (record["image_width"], record["image_height"]) == (width, height)
        box = record["panel_image"]
        assert max(box["width"], box["height"]) == 320  # --heatmap-size
        assert box["width"] / box["height"] == pytest.approx(width / height, rel=0.01)
        assert 0 <= box["x"] and box["x"] + box["width"] <= record["panel_width"]
        assert box["y"] > 0 and box["y"] + box["height"] < record["panel_height"]  # label above, colour bar below


def test_punctuation_tokens_get_names(heatmaps):
    root, _ = heatmaps
    names = {p.name[3:] for p in (root / "png_rgb8").glob("[0-9]*_*.png")}
    assert "comma.png" in names and "lparen.png" in names and "nou.png" in names  # ",", "(", "<nou>"


def panel_pixels(folder, record, entry):
    """The image part of a token's panel (under the label strip, above the colour bar)."""
    box = record["panel_image"]
    with Image.open(folder / entry["file"]) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    return pixels[box["y"]:box["y"] + box["height"], box["x"]:box["x"] + box["width"]]


def cell_centres(record, pixels):
    """The panel's colour at the centre of each attention cell: the grid is stretched over the whole image."""
    grid, box = record["grid"], record["panel_image"]
    return [pixels[int((y + 0.5) * box["height"] / grid), int((x + 0.5) * box["width"] / grid)]
            for y in range(grid) for x in range(grid)]


def test_colour_under_each_region_follows_its_attention(heatmaps):
    root, reports = heatmaps
    checked = 0
    for report in reports:
        folder = Path(report["heatmaps"])
        record = json.loads((folder / "attention.json").read_text())
        for entry in record["tokens"][:record["drawn"]]:
            weights = np.asarray(entry["attention"])
            heat = weights / weights.max()
            hues = [hue(c) for c in cell_centres(record, panel_pixels(folder, record, entry))]
            hottest = int(np.argmax(weights))  # turbo: hue falls from blue (~246) to red (~5) as heat rises
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
    pairs = []
    for report in reports:
        folder = Path(report["heatmaps"])
        record = json.loads((folder / "attention.json").read_text())
        entries = record["tokens"][:record["drawn"]]
        pairs = [(a, b) for a in entries for b in entries
                 if np.abs(np.subtract(a["attention"], b["attention"])).max() > 0.05]
        if pairs:
            break
    assert pairs, "the fixtures should have tokens attending differently"
    a, b = pairs[0]
    assert np.abs(panel_pixels(folder, record, a) - panel_pixels(folder, record, b)).max() > 30
    # The image under the heat is the original in its own geometry: where the heat (and so the blend) is about
    # the same, the pixels rank like the original's, scaled to the panel without changing its aspect.
    box = record["panel_image"]
    with Image.open(report["image"]) as original:
        gray = np.asarray(original.convert("L").resize((box["width"], box["height"]), Image.BOX)).astype(int)
    pixels = panel_pixels(folder, record, a).sum(axis=2)
    inner = (slice(box["height"] // 8, 3 * box["height"] // 8), slice(box["width"] // 8, 3 * box["width"] // 8))
    correlation = np.corrcoef(gray[inner].ravel(), pixels[inner].ravel())[0, 1]
    assert correlation > 0.8


def test_a_long_loop_gives_few_panels_and_says_so(tmp_path):
    # The golden model loops on this image ("mild <nou> stable stable stable ..."): 40 tokens, a handful of panels.
    done = run_cli("caption", "--model", MODEL, "--max-tokens", 40, "--heatmaps", tmp_path, "--json", INTAKE / GOOD[0])
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)[0]
    tokens = report["results"][0]["tokens"]
    record = json.loads((Path(report["heatmaps"]) / "attention.json").read_text())
    loop = first_loop(tokens)
    assert loop is not None and len(tokens) > 2 * loop[0], tokens
    assert record["drawn"] == loop[0] and len(list(Path(report["heatmaps"]).glob("[0-9]*_*.png"))) == loop[0]
    assert any("a loop" in note and "not drawn" in note for note in record["notes"]), record["notes"]


def test_panel_limit_caps_the_panels_and_says_so(tmp_path):
    done = run_cli("caption", "--model", MODEL, "--max-tokens", 8, "--heatmaps", tmp_path, "--heatmap-panels", 2,
                   "--json", INTAKE / GOOD[0], INTAKE / "png_rgb8.png")  # loops after 3 and 4 tokens
    assert done.returncode == 0, done.stderr
    for report in json.loads(done.stdout):
        folder = Path(report["heatmaps"])
        record = json.loads((folder / "attention.json").read_text())
        assert record["drawn"] == 2 and len(list(folder.glob("[0-9]*_*.png"))) == 2
        assert any("--heatmap-panels 2" in note for note in record["notes"]), record["notes"]


def test_shared_scale_compares_colours_across_panels(tmp_path):
    done = run_cli("caption", "--model", MODEL, "--max-tokens", 8, "--heatmaps", tmp_path, "--heatmap-scale",
                   "shared", "--json", INTAKE / GOOD[0], INTAKE / "iu_cxr3_crop_rgb.png")
    assert done.returncode == 0, done.stderr
    checked = 0
    for report in json.loads(done.stdout):
        folder = Path(report["heatmaps"])
        record = json.loads((folder / "attention.json").read_text())
        entries = record["tokens"][:record["drawn"]]
        top = max(max(e["attention"]) for e in entries)
        assert record["scale"] == "shared" and record["shared_top"] == pytest.approx(top, rel=1e-6)
        for entry in entries:
            hues = [hue(c) for c in cell_centres(record, panel_pixels(folder, record, entry))]
            peak = max(entry["attention"])
            if peak == top:
                assert min(hues) < 20  # the overall peak is red
            elif peak < 0.6 * top:
                assert min(hues) > 40, (peak, top, hues)  # a weaker map never reaches red
                checked += 1
    per_token = json.loads((Path(run_cli("caption", "--model", MODEL, "--max-tokens", 8, "--heatmaps", tmp_path / "t",
                                         "--json", INTAKE / GOOD[0]).stdout and tmp_path / "t" / Path(GOOD[0]).stem)
                            / "attention.json").read_text())
    assert per_token["scale"] == "token" and per_token["shared_top"] is None


@pytest.mark.parametrize("option, value", [("--heatmap-panels", 0), ("--heatmap-panels", 257),
                                           ("--heatmap-size", 63), ("--heatmap-size", 1025),
                                           ("--heatmap-scale", "loud")])
def test_bad_heatmap_options_are_refused(tmp_path, option, value):
    done = caption("--heatmaps", tmp_path, option, value, INTAKE / GOOD[0])
    assert done.returncode != 0 and option in done.stderr and str(value) in done.stderr, done.stderr
    assert not list(tmp_path.glob("*/*.png"))


@pytest.mark.parametrize("option, value", [("--heatmap-panels", 5), ("--heatmap-size", 200), ("--heatmap-scale", "shared")])
def test_heatmap_options_without_heatmaps_are_refused(option, value):
    done = caption(option, value, INTAKE / GOOD[0])
    assert done.returncode != 0 and option in done.stderr and "--heatmaps" in done.stderr, done.stderr


def test_rerun_replaces_old_panels_and_same_names_get_separate_folders(tmp_path):
    out = tmp_path / "maps"
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(INTAKE / "png_gray8.png", other / GOOD[0])  # same file name, different image
    done = caption("--heatmaps", out, INTAKE / GOOD[0], other / GOOD[0])
    assert done.returncode == 0, done.stderr
    stem = Path(GOOD[0]).stem
    assert (out / stem / "overview.png").exists() and (out / (stem + "-2") / "overview.png").exists()
    before = {p.name for p in (out / stem).glob("[0-9]*_*.png")}
    done = run_cli("caption", "--model", MODEL, "--max-tokens", 3, "--heatmaps", out, INTAKE / GOOD[0])
    assert done.returncode == 0, done.stderr
    after = {p.name for p in (out / stem).glob("[0-9]*_*.png")}
    record = json.loads((out / stem / "attention.json").read_text())
    assert after == {t["file"] for t in record["tokens"][:record["drawn"]]} and after != before


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
        if entry["file"] is None:  # after a loop
            continue
        expected = {"。": "period", "，": "comma", "<nou>": "nou"}.get(token, token)
        assert entry["file"] == "%02d_%s.png" % (position, expected)
        assert (folder / entry["file"]).exists()
    assert (folder / "overview.png").exists()
