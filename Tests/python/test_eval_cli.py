"""Tests of `cxrcaption-cli eval` (captioning a manifest and scoring it, per study).

Uses the golden model (Tests/CXRKitTests/Fixtures/golden/model.safetensors: input 64, seeded random weights,
30-token vocabulary), PNGs from Tests/CXRKitTests/Fixtures/intake, DICOM and JPEG files from
Tests/CXRKitTests/Fixtures/readers and Tests/integrations/fixtures (PROVENANCE.md in each), so it runs
everywhere; one test also uses the real Indiana University images in ../shared/data/real-cxr/iu (skipped
with a message when absent). The references are real IU impressions (below). The model's captions are
nonsense, which does not matter: what is tested is that eval's numbers are exactly `cxrcaption-cli score`'s
on the candidates and references it writes out, and that its outputs and errors are complete and clear.

Needs: pytest; the CLI binary (env CXRCAPTION_CLI, else `swift build --show-bin-path`).

    python -m pytest Tests/python/test_eval_cli.py -v
"""

import json
import math
from pathlib import Path

import pytest
from cli_support import run_cli, run_cli_on_terminal

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "Tests" / "CXRKitTests" / "Fixtures"
MODEL = FIXTURES / "golden" / "model.safetensors"
INTAKE = FIXTURES / "intake"
READERS = FIXTURES / "readers"
DICOMS = REPO / "Tests" / "integrations" / "fixtures"
REAL_IU = REPO.parent / "shared" / "data" / "real-cxr" / "iu"
METRICS = ["CIDEr-D", "CIDEr", "BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-L"]

# Real impressions of the Indiana University chest X-ray collection (Open-i, CC BY-NC-ND 4.0), copied from
# ../shared/data/iu-reports/iu_reports_parsed.json (report ids in the comments).
IMPRESSIONS = {
    "r1": "Normal chest x-XXXX.",  # report 1
    "r3": "No displaced rib fractures, pneumothorax, or pleural effusion identified. Well-expanded and clear "
          "lungs. Mediastinal contour within normal limits. No acute cardiopulmonary abnormality identified.",  # 3
    "r7": "Basilar atelectasis. No confluent lobar consolidation or pleural effusion.",  # 7
    "r1900": "1. Stable appearance of the chest. No acute process.",  # 1900
}

# (id, fixture PNG, references): five images of different PNG layouts.
STUDIES = [
    ("hannover", "hannover_006f3a8a_crop.png", [IMPRESSIONS["r3"]]),
    ("iu3", "iu_cxr3_crop_rgb.png", [IMPRESSIONS["r3"], IMPRESSIONS["r1"]]),
    ("gray16", "made_gray16_bits12_garbage.png", [IMPRESSIONS["r7"]]),
    ("palette", "png_palette.png", [IMPRESSIONS["r1900"]]),
    ("gray8", "png_gray8.png", [IMPRESSIONS["r1"]]),
]




def write_manifest(folder, rows):
    """rows: dicts (written as JSON) or raw strings (written as they are)."""
    path = folder / "manifest.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n")
    return path


def fixture_rows(folder, split="test"):
    """The five studies; images copied beside the manifest and named relatively (as a dataset would)."""
    rows = []
    (folder / "images").mkdir(exist_ok=True)
    for study_id, name, references in STUDIES:
        (folder / "images" / name).write_bytes((INTAKE / name).read_bytes())
        rows.append({"id": study_id, "image": "images/" + name,
                     "report": references[0] if len(references) == 1 else references,
                     "split": split, "labels": ["normal"] if study_id == "gray8" else ["atelectasis"]})
    return rows


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def score_cli(folder, records, best_of, extra=()):
    """`cxrcaption-cli score --json` on the candidates and references written in eval's per-image file."""
    candidates = {r["id"]: [c["text"] for c in r["candidates"]] for r in records if "error" not in r}
    references = {r["id"]: r["references"] for r in records if "error" not in r}
    c, rr = folder / "c.json", folder / "r.json"
    c.write_text(json.dumps(candidates, ensure_ascii=False), encoding="utf-8")
    rr.write_text(json.dumps(references, ensure_ascii=False), encoding="utf-8")
    done = run_cli("score", "--candidates", c, "--references", rr, "--json", "--best-of", best_of, *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def table_value(table, metric, column):
    """The number, as printed, in the eval table's row `metric`, column 0 (top-1) or 1 (best-of-K)."""
    lines = table.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["metric", "top-1"])
    for line in lines[header + 1:]:
        parts = line.split()
        if parts and parts[0] == metric:
            return parts[1 + column]
    raise AssertionError("no %s row in:\n%s" % (metric, table))


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """One eval run over the five fixture studies with --json, --output and --attention."""
    folder = tmp_path_factory.mktemp("eval")
    rows = fixture_rows(folder) + [{"id": "train-only", "image": "images/none.png", "report": IMPRESSIONS["r7"],
                                    "split": "train"}]
    manifest = write_manifest(folder, rows)
    output = folder / "per-image.jsonl"
    done = run_cli("eval", "--model", MODEL, "--manifest", manifest, "--json", "--output", output,
                   "--attention", "--best-of", 3, "--max-tokens", 12)
    assert done.returncode == 0, done.stderr
    return folder, rows, json.loads(done.stdout), read_lines(output), done.stderr


def test_summary_json_structure(evaluated):
    _, rows, summary, _, _ = evaluated
    for key in ("model", "manifest", "split", "beam", "best_of", "max_tokens", "images", "studies", "scored",
                "unscored_studies", "failures", "failed", "views", "seconds", "seconds_per_image", "scores"):
        assert key in summary, key
    assert summary["split"] == "test"
    assert (summary["images"], summary["studies"], summary["scored"], summary["failures"], summary["failed"]) == \
        (5, 5, 5, 0, [])
    assert summary["views"] == {"frontal": 0, "lateral": 0, "other": 0, "unknown": 5}
    assert (summary["beam"], summary["best_of"], summary["max_tokens"]) == (3, 3, 12)
    scores = summary["scores"]
    assert scores["images"] == 5 and scores["df_mode"] == "evaluated-references" and scores["df_documents"] == 5
    assert scores["best_of_k"]["k"] == 3
    assert sorted(scores["top1"]["per_image"]) == sorted(r["id"] for r in rows if r["split"] == "test")
    for block in (scores["top1"]["corpus"], scores["best_of_k"]["corpus"]):
        assert sorted(block) == sorted(METRICS)
        assert all(math.isfinite(v) and v >= 0 for v in block.values())


def test_per_image_records_are_complete(evaluated):
    folder, rows, _, records, _ = evaluated
    test_rows = [r for r in rows if r["split"] == "test"]
    assert [r["id"] for r in records] == [r["id"] for r in test_rows]  # manifest order, split only
    for record, row in zip(records, test_rows):
        assert record["image"] == row["image"]
        assert record["study"] == record["id"] and record["view"] is None and record["scored"] is True
        assert Path(record["image_path"]) == folder / row["image"]
        references = row["report"] if isinstance(row["report"], list) else [row["report"]]
        assert record["references"] == references
        assert record["labels"] == row["labels"]
        candidates = record["candidates"]
        assert len(candidates) == 3
        log_probs = [c["log_prob"] for c in candidates]
        assert log_probs == sorted(log_probs, reverse=True)  # ranked best first (no length penalty)
        for c in candidates:
            assert len(c["tokens"]) == len(c["words"]) and c["log_prob"] < 0
            assert len(c["tokens"]) <= 12
            assert c["score"] == c["log_prob"]
        assert sorted(record["top1"]) == sorted(METRICS)
        best = record["best_of_k"]
        assert best["k"] == 3 and 0 <= best["rank"] < 3 and len(best["candidates_cider_d"]) == 3
        assert best["CIDEr-D"] == max(best["candidates_cider_d"])
        assert best["candidates_cider_d"][0] == record["top1"]["CIDEr-D"]
        assert best["CIDEr-D"] >= record["top1"]["CIDEr-D"]
        attention = record["attention"]
        assert (attention["grid"], attention["regions"], attention["input_size"]) == (2, 4, 64)
        assert attention["words"] == candidates[0]["words"]
        assert len(attention["maps"]) == len(attention["words"])
        for weights in attention["maps"]:
            assert len(weights) == 4 and abs(sum(weights) - 1) < 1e-5 and min(weights) >= 0
    assert (records[0]["width"], records[0]["height"]) == (300, 320)  # hannover crop: rows 100:420, cols 150:450
    assert (records[3]["width"], records[3]["height"]) == (23, 17)  # png_palette


def test_scores_equal_score_command(evaluated):
    """eval's numbers are the scorer's: `score` on the written-out candidates/references gives the same."""
    folder, _, summary, records, _ = evaluated
    expected = score_cli(folder, records, best_of=3)
    assert summary["scores"] == expected  # every corpus and per-image number, exactly
    for record in records:
        assert record["top1"] == expected["top1"]["per_image"][record["id"]]
        best = dict(record["best_of_k"])
        assert best.pop("k") == 3
        assert best == expected["best_of_k"]["per_image"][record["id"]]
    top1 = expected["top1"]["corpus"]["CIDEr-D"]
    best_of = expected["best_of_k"]["corpus"]["CIDEr-D"]
    assert best_of >= top1
    # Not a degenerate comparison: the run produced some overlap with the references.
    assert any(r["best_of_k"]["CIDEr-D"] > 0 or r["top1"]["BLEU-1"] > 1e-9 for r in records)


def test_table_prints_the_scorers_numbers(evaluated):
    folder, _, summary, _, _ = evaluated
    manifest = folder / "manifest.jsonl"
    done = run_cli("eval", "--model", MODEL, "--manifest", manifest, "--max-tokens", 12, "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # --quiet
    table = done.stdout
    for metric in METRICS:
        assert table_value(table, metric, 0) == "%.4f" % summary["scores"]["top1"]["corpus"][metric]
        assert table_value(table, metric, 1) == "%.4f" % summary["scores"]["best_of_k"]["corpus"][metric]
    assert "df mode: evaluated-references" in table
    assert "images: 5    studies: 5    scored studies: 5    failures: 0" in table
    assert "time:" in table


def test_candidates_are_the_models_captions(evaluated):
    """The candidates equal what `cxrcaption-cli caption` returns for the same image and beam."""
    folder, _, _, records, _ = evaluated
    record = records[0]
    done = run_cli("caption", "--model", MODEL, "--beam", 3, "--results", 3, "--max-tokens", 12, "--json",
                   record["image_path"])
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)[0]["results"]
    assert [(r["text"], r["tokens"], r["log_prob"]) for r in results] == \
        [(c["text"], c["tokens"], c["log_prob"]) for c in record["candidates"]]


def test_progress_lines_when_not_a_terminal(evaluated):
    *_, stderr = evaluated
    assert "eval: 5/5 images (100%)" in stderr


def test_progress_bar_on_a_terminal(tmp_path):
    manifest = write_manifest(tmp_path, fixture_rows(tmp_path)[:2])
    done, text = run_cli_on_terminal("eval", "--model", MODEL, "--manifest", manifest, "--max-tokens", 6)
    assert done.returncode == 0
    assert "\reval [" in text and "2/2" in text and "#" * 30 in text
    assert "images (" not in text  # not the plain lines


def test_failed_images_are_counted_and_the_rest_scored(tmp_path):
    rows = fixture_rows(tmp_path)[:3]
    (tmp_path / "images" / "corrupt.png").write_bytes((INTAKE / "corrupt_bad_crc.png").read_bytes())
    rows.insert(1, {"id": "corrupt", "image": "images/corrupt.png", "report": IMPRESSIONS["r7"], "split": "test"})
    rows.append({"id": "missing", "image": "images/absent.png", "report": IMPRESSIONS["r1"], "split": "test"})
    manifest = write_manifest(tmp_path, rows)
    output = tmp_path / "out.jsonl"
    done = run_cli("eval", "--model", MODEL, "--manifest", manifest, "--json", "--output", output,
                   "--max-tokens", 8)
    assert done.returncode != 0
    summary = json.loads(done.stdout)  # the scores of the rest are printed
    assert (summary["images"], summary["studies"], summary["scored"], summary["failures"]) == (5, 5, 3, 2)
    assert summary["unscored_studies"] == 2
    assert [(f["id"], f["line"]) for f in summary["failed"]] == [("corrupt", 2), ("missing", 5)]
    assert "CRC" in summary["failed"][0]["error"] and "absent.png" in summary["failed"][1]["error"]
    assert "corrupt.png" in done.stderr and "absent.png" in done.stderr
    assert summary["scores"]["images"] == 3
    records = read_lines(output)
    assert [r["id"] for r in records] == [r["id"] for r in rows]
    assert [("error" in r) for r in records] == [False, True, False, False, True]
    assert not any("attention" in r or ("candidates" in r) == ("error" in r) for r in records)
    assert summary["scores"] == score_cli(tmp_path, records, best_of=3)

    table = run_cli("eval", "--model", MODEL, "--manifest", manifest, "--max-tokens", 8, "--quiet")
    assert table.returncode != 0
    assert "failures: 2" in table.stdout and "failed images:" in table.stdout
    assert table_value(table.stdout, "CIDEr-D", 0) == "%.4f" % summary["scores"]["top1"]["corpus"]["CIDEr-D"]


@pytest.mark.parametrize("line, message", [
    ('{"image": "a.png", "report": "No effusion.", "split": "test"', "not valid JSON"),
    ('["a.png", "No effusion."]', "must be a JSON object"),
    ('{"report": "No effusion.", "split": "test"}', 'missing "image"'),
    ('{"image": "a.png", "split": "test"}', 'missing "report"'),
    ('{"image": "a.png", "report": "No effusion."}', 'missing "split"'),
    ('{"image": "a.png", "report": 3, "split": "test"}', '"report" must be a string or a list of strings'),
    ('{"image": "a.png", "report": ["No effusion.", null], "split": "test"}', '"report" item 1 must be a string'),
    ('{"image": "a.png", "report": "...", "split": "test"}', "has no words"),
    ('{"image": "a.png", "report": "No effusion.", "split": "test", "id": [1]}', '"id" must be a string'),
    ('{"image": "a.png", "report": "No effusion.", "split": "test", "id": "hannover"}', "already used on line 1"),
    ('{"image": "a.png", "report": "No effusion.", "split": "test", "study": [1]}', '"study" must be a non-empty'),
    ('{"image": "a.png", "report": "No effusion.", "split": "test", "study": ""}', '"study" must be a non-empty'),
    ('{"image": "a.png", "report": "No effusion.", "split": "test", "view": 3}', '"view" must be a string'),
    ('{"image": "a.png", "report": "No effusion.", "split": "test", "id": "x", "study": "hannover"}',
     'study "hannover" is the id of line 1'),
])
def test_malformed_manifest_line_is_a_clear_error(tmp_path, line, message):
    rows = fixture_rows(tmp_path)[:1] + [line]
    manifest = write_manifest(tmp_path, rows)
    output = tmp_path / "out.jsonl"
    done = run_cli("eval", "--model", MODEL, "--manifest", manifest, "--output", output)
    assert done.returncode != 0
    assert "manifest.jsonl line 2: " in done.stderr and message in done.stderr, done.stderr
    assert not output.exists()  # refused before running the model


def test_crlf_manifest_reads_like_lf(tmp_path):
    rows = fixture_rows(tmp_path)[:3]
    manifest = write_manifest(tmp_path, rows)
    crlf = tmp_path / "manifest-crlf.jsonl"
    crlf.write_bytes(manifest.read_bytes().replace(b"\n", b"\r\n") + b"\r\n")
    summaries = []
    for path in (manifest, crlf):
        done = run_cli("eval", "--model", MODEL, "--manifest", path, "--json", "--max-tokens", 6)
        assert done.returncode == 0, done.stderr
        summaries.append(json.loads(done.stdout))
    assert summaries[1]["images"] == 3 and summaries[1]["failures"] == 0
    assert summaries[1]["scores"] == summaries[0]["scores"]

    bad = tmp_path / "bad-crlf.jsonl"
    bad.write_bytes(manifest.read_bytes().replace(b"\n", b"\r\n") + b'{"image": "a.png"}\r\n')
    done = run_cli("eval", "--model", MODEL, "--manifest", bad)
    assert done.returncode != 0 and "bad-crlf.jsonl line 4: " in done.stderr and 'missing "report"' in done.stderr


def test_split_limit_and_beam(tmp_path):
    rows = fixture_rows(tmp_path, split="val")
    rows[4]["split"] = "test"
    manifest = write_manifest(tmp_path, rows)
    done = run_cli("eval", "--model", MODEL, "--manifest", manifest, "--split", "val", "--limit", 2,
                   "--best-of", 2, "--beam", 4, "--max-tokens", 6, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["images"], summary["beam"], summary["best_of"]) == (2, 4, 2)
    assert sorted(summary["scores"]["top1"]["per_image"]) == ["hannover", "iu3"]
    assert summary["scores"]["best_of_k"]["k"] == 2

    none = run_cli("eval", "--model", MODEL, "--manifest", manifest, "--split", "train")
    assert none.returncode != 0 and 'no entries with split "train"' in none.stderr and "val (4)" in none.stderr


def test_document_frequency_table(tmp_path):
    rows = fixture_rows(tmp_path)
    manifest = write_manifest(tmp_path, rows)
    refs = tmp_path / "train_refs.json"
    refs.write_text(json.dumps({k: [v] for k, v in IMPRESSIONS.items()}), encoding="utf-8")
    table = tmp_path / "train.df"
    assert run_cli("score", "--references", refs, "--save-df", table).returncode == 0
    output = tmp_path / "out.jsonl"
    done = run_cli("eval", "--model", MODEL, "--manifest", manifest, "--df", table, "--json", "--output", output,
                   "--max-tokens", 8)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["scores"]["df_mode"] == "table" and summary["scores"]["df_documents"] == 4
    assert summary["scores"] == score_cli(tmp_path, read_lines(output), best_of=3, extra=("--df", table))

    other = run_cli("eval", "--model", MODEL, "--manifest", manifest, "--df", table, "--han", "words")
    assert other.returncode != 0 and "han=characters" in other.stderr


def test_real_iu_images(tmp_path):
    """The real IU images with their own impressions (../shared/data/real-cxr/iu/pairs.csv)."""
    pairs = REAL_IU / "pairs.csv"
    if not pairs.exists():
        pytest.skip("../shared/data/real-cxr/iu is absent: the real-image eval test is skipped")
    import csv
    with open(pairs, encoding="utf-8") as f:
        rows = [{"id": r["image"], "image": str(REAL_IU / r["image"]), "report": r["impression"], "split": "test"}
                for r in csv.DictReader(f)]
    manifest = write_manifest(tmp_path, rows)
    output = tmp_path / "out.jsonl"
    done = run_cli("eval", "--model", MODEL, "--manifest", manifest, "--json", "--output", output,
                   "--max-tokens", 10)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["scored"] == len(rows) == 5
    assert summary["scores"] == score_cli(tmp_path, read_lines(output), best_of=3)


# ------------------------------------------------------------------------------------ kinds and studies

def kinds_rows(folder):
    """A DICOM, a JPEG and a PNG, each its own study (no "study" field)."""
    rows = []
    for image_id, path, report in [("dicom", DICOMS / "rg1_small.dcm", IMPRESSIONS["r3"]),
                                   ("jpeg", READERS / "jpeg_ycbcr420.jpg", IMPRESSIONS["r7"]),
                                   ("png", INTAKE / "png_gray8.png", IMPRESSIONS["r1"])]:
        rows.append({"id": image_id, "image": str(path), "report": report, "split": "test"})
    return rows


def test_dicom_jpeg_and_png_are_evaluated(tmp_path):
    manifest = write_manifest(tmp_path, kinds_rows(tmp_path))
    output = tmp_path / "out.jsonl"
    done = run_cli("eval", "--model", MODEL, "--manifest", manifest, "--json", "--output", output,
                   "--max-tokens", 8)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["images"], summary["studies"], summary["scored"], summary["failures"]) == (3, 3, 3, 0)
    assert summary["views"] == {"frontal": 1, "lateral": 0, "other": 0, "unknown": 2}
    records = read_lines(output)
    assert [r["view"] for r in records] == ["PA", None, None]  # the DICOM's ViewPosition
    assert [(r["width"], r["height"]) for r in records] == [(306, 325), (96, 72), (23, 17)]
    assert summary["scores"] == score_cli(tmp_path, records, best_of=3)


def two_view_rows():
    """Study s1: a lateral DICOM first, then its frontal DICOM (views from ViewPosition); study s2: a PNG
    frontal and a JPEG lateral named by the manifest's "view"; study s3: one PNG."""
    return [
        {"id": "s1-lat", "study": "s1", "image": str(READERS / "lateral_signed12_2frames.dcm"),
         "report": IMPRESSIONS["r3"], "split": "test"},
        {"id": "s1-pa", "study": "s1", "image": str(DICOMS / "rg1_small.dcm"), "report": IMPRESSIONS["r3"],
         "split": "test"},
        {"id": "s2-pa", "study": "s2", "view": "PA", "image": str(INTAKE / "hannover_006f3a8a_crop.png"),
         "report": IMPRESSIONS["r7"], "split": "test"},
        {"id": "s2-lat", "study": "s2", "view": "LL", "image": str(READERS / "jpeg_gray.jpg"),
         "report": IMPRESSIONS["r7"], "split": "test"},
        {"id": "s3", "image": str(INTAKE / "png_gray8.png"), "report": IMPRESSIONS["r1"], "split": "test"},
    ]


def test_two_views_of_one_study_are_scored_once_by_the_frontal_image(tmp_path):
    rows = two_view_rows()
    manifest = write_manifest(tmp_path, rows)
    output = tmp_path / "out.jsonl"
    done = run_cli("eval", "--model", MODEL, "--manifest", manifest, "--json", "--output", output,
                   "--max-tokens", 8)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["images"], summary["studies"], summary["scored"], summary["failures"]) == (5, 3, 3, 0)
    assert summary["views"] == {"frontal": 2, "lateral": 2, "other": 0, "unknown": 1}
    assert sorted(summary["scores"]["top1"]["per_image"]) == ["s1", "s2", "s3"]
    assert summary["scores"]["images"] == 3
    records = read_lines(output)
    assert [r["id"] for r in records] == [r["id"] for r in rows]  # every line, ids unique
    assert [r["study"] for r in records] == ["s1", "s1", "s2", "s2", "s3"]
    assert [r["view"] for r in records] == ["LL", "PA", "PA", "LL", None]
    assert [r["scored"] for r in records] == [False, True, True, False, True]
    assert all(r["candidates"] for r in records)  # each line's image is captioned
    assert all(("top1" in r) == r["scored"] for r in records)
    # The study's scores are those of its frontal image's candidates: `score` on them gives the same.
    chosen = [r for r in records if r["scored"]]
    candidates = {r["study"]: [c["text"] for c in r["candidates"]] for r in chosen}
    references = {r["study"]: r["references"] for r in chosen}
    (tmp_path / "c.json").write_text(json.dumps(candidates))
    (tmp_path / "r.json").write_text(json.dumps(references))
    scored = run_cli("score", "--candidates", tmp_path / "c.json", "--references", tmp_path / "r.json", "--json",
                     "--best-of", 3)
    assert json.loads(scored.stdout) == summary["scores"]
    for record in chosen:
        assert record["top1"] == summary["scores"]["top1"]["per_image"][record["study"]]

    table = run_cli("eval", "--model", MODEL, "--manifest", manifest, "--max-tokens", 8, "--quiet")
    assert table.returncode == 0
    assert "images: 5    studies: 3    scored studies: 3    failures: 0" in table.stdout
    assert "views: frontal 2, lateral 2, other 0, unknown 1" in table.stdout


def test_a_study_without_a_captioned_frontal_image_falls_back(tmp_path):
    rows = two_view_rows()[:2] + two_view_rows()[2:4]
    rows[1]["image"] = str(tmp_path / "absent.dcm")  # s1's frontal image is missing: its lateral one scores it
    rows[3]["view"] = None  # s2: PA and an unknown view: the PA still scores it
    manifest = write_manifest(tmp_path, rows)
    output = tmp_path / "out.jsonl"
    done = run_cli("eval", "--model", MODEL, "--manifest", manifest, "--json", "--output", output,
                   "--max-tokens", 8)
    assert done.returncode == 1  # an image failed
    summary = json.loads(done.stdout)
    assert (summary["images"], summary["studies"], summary["scored"], summary["failures"]) == (4, 2, 2, 1)
    assert summary["failed"][0]["id"] == "s1-pa" and summary["failed"][0]["study"] == "s1"
    assert [r["scored"] for r in read_lines(output)] == [True, False, True, False]


def test_an_unknown_view_counts_as_frontal_as_the_trainer_counts_it(tmp_path):
    """The trainer's rule (candidate_per_study): the first image that is frontal or of unknown view."""
    rows = [
        {"id": "a-unknown", "study": "a", "image": str(INTAKE / "png_gray8.png"), "report": IMPRESSIONS["r1"],
         "split": "test"},
        {"id": "a-pa", "study": "a", "view": "pa", "image": str(DICOMS / "rg1_small.dcm"),
         "report": IMPRESSIONS["r1"], "split": "test"},
        {"id": "b-lat", "study": "b", "view": "Lateral", "image": str(INTAKE / "png_palette.png"),
         "report": IMPRESSIONS["r7"], "split": "test"},
        {"id": "b-ap", "study": "b", "view": "AP_AXIAL", "image": str(INTAKE / "png_rgb8.png"),
         "report": IMPRESSIONS["r7"], "split": "test"},
        {"id": "c-oblique", "study": "c", "view": "LAO", "image": str(INTAKE / "png_rgba8.png"),
         "report": IMPRESSIONS["r3"], "split": "test"},
    ]
    manifest = write_manifest(tmp_path, rows)
    output = tmp_path / "out.jsonl"
    done = run_cli("eval", "--model", MODEL, "--manifest", manifest, "--json", "--output", output,
                   "--max-tokens", 6)
    assert done.returncode == 0, done.stderr
    assert [r["scored"] for r in read_lines(output)] == [True, False, False, True, True]
    assert json.loads(done.stdout)["views"] == {"frontal": 2, "lateral": 1, "other": 1, "unknown": 1}


def test_limit_counts_studies(tmp_path):
    manifest = write_manifest(tmp_path, two_view_rows())
    done = run_cli("eval", "--model", MODEL, "--manifest", manifest, "--json", "--limit", 2, "--max-tokens", 6)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["images"], summary["studies"]) == (4, 2)


def test_help_states_the_study_rule():
    done = run_cli("eval", "--help")
    text = " ".join(done.stdout.split())
    assert "first frontal image in manifest order" in text
    assert '"study"' in text and '"view"' in text
