"""Proof that `cxrcaption-cli score` equals pycocoevalcap (CIDEr-D, CIDEr, BLEU-1..4, ROUGE-L).

pycocoevalcap's scorers are fed the tokens of our scoring tokenizer (re-implemented here, `tokenize`, rule in
docs/METRICS.md) joined by single spaces; its PTBTokenizer (Java) is not used. Corpus and per-image scores
must agree to 1e-6 (in practice they agree to the last bit or nearly).

Needs: numpy, pycocoevalcap, pytest; the CLI binary (env CXRCAPTION_CLI, else `swift build --show-bin-path`);
../shared/data/iu-reports for the large test (skipped with a message when absent).

    python -m pytest Tests/python/test_metrics_pycocoevalcap.py -v    # the tests
    python Tests/python/test_metrics_pycocoevalcap.py --report         # print max differences
    python Tests/python/test_metrics_pycocoevalcap.py --write-fixture  # regenerate the frozen fixture
"""

import contextlib
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import unicodedata
from collections import defaultdict
from pathlib import Path

import numpy as np
import pycocoevalcap.cider.cider_scorer as cider_scorer_module
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.cider.cider_scorer import CiderScorer
from pycocoevalcap.rouge.rouge import Rouge
from cli_support import cli_path

REPO = Path(__file__).resolve().parents[2]
IU_REPORTS = REPO.parent / "shared" / "data" / "iu-reports" / "iu_reports_parsed.json"
FIXTURE = REPO / "Tests" / "CXRKitTests" / "Fixtures" / "metrics"
TOLERANCE = 1e-6
METRICS = ["CIDEr-D", "CIDEr", "BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-L"]

# ---------------------------------------------------------------------------------------------------------
# The scoring tokenizer (mirror of Sources/CXRKit/Metrics/ScoringTokenizer.swift)

HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3FFFF))


def tokenizer_name(han):
    return "cxrcaption-scoring-1 han=" + han


def tokenize(text, han="characters"):
    """Letters/marks/numbers runs, other scalars dropped; Han characters single tokens in 'characters' mode;
    each scalar lowercased on its own (full mapping)."""
    tokens, current = [], []
    for ch in text:
        if han == "characters" and any(lo <= ord(ch) <= hi for lo, hi in HAN_RANGES):
            if current:
                tokens.append("".join(current))
                current = []
            tokens.append(ch.lower())
        elif unicodedata.category(ch)[0] in "LMN":
            current.append(ch.lower())
        elif current:
            tokens.append("".join(current))
            current = []
    if current:
        tokens.append("".join(current))
    return tokens


def joined(text, han):
    return " ".join(tokenize(text, han))


# ---------------------------------------------------------------------------------------------------------
# pycocoevalcap, untouched except where stated


class _DocumentCount(list):
    """The references list with len() = the df table's document count: compute_cider takes ln(len(crefs))."""

    def __init__(self, items, documents):
        super().__init__(items)
        self.documents = documents

    def __len__(self):
        return self.documents


@contextlib.contextmanager
def _unclipped():
    """Plain CIDEr: pycocoevalcap's sim() without the clipping min(); with sigma = inf the penalty is 1."""
    cider_scorer_module.min = lambda hyp, ref: hyp
    try:
        yield
    finally:
        del cider_scorer_module.min


def coco_document_frequency(references):
    """pycocoevalcap's compute_doc_freq over references (id -> list of joined strings)."""
    scorer = CiderScorer(n=4, sigma=6.0)
    for refs in references.values():
        scorer += (None, refs)
    scorer.compute_doc_freq()
    return {" ".join(gram): int(df) for gram, df in scorer.document_frequency.items()}, len(references)


def coco_cider(res, gts, variant="D", table=None):
    """Per-image list and corpus mean, in gts order. variant 'D' = pycocoevalcap's Cider; 'plain' = unclipped,
    no penalty. table = (df dict "a b" -> int, documents) replaces the df of the evaluated references."""
    if variant == "D" and table is None:
        score, scores = Cider().compute_score(gts, res)
        return float(score), [float(s) for s in scores]
    scorer = CiderScorer(n=4, sigma=6.0 if variant == "D" else math.inf)
    for key in gts:
        scorer += (res[key][0], gts[key])
    ctx = _unclipped() if variant == "plain" else contextlib.nullcontext()
    with ctx:
        if table is None:
            score, scores = scorer.compute_score()
        else:
            frequencies, documents = table
            scorer.document_frequency = defaultdict(
                float, {tuple(gram.split(" ")): float(df) for gram, df in frequencies.items()})
            scorer.crefs = _DocumentCount(scorer.crefs, documents)
            scores = np.array(scorer.compute_cider())
            score = np.mean(scores)
    return float(score), [float(s) for s in scores]


def coco_all(res, gts, table=None):
    """{metric: (corpus, [per image])} for one candidate per image."""
    out = {"CIDEr-D": coco_cider(res, gts, "D", table), "CIDEr": coco_cider(res, gts, "plain", table)}
    bleu, bleu_per_image = Bleu(4).compute_score(gts, res, verbose=0)
    for k in range(4):
        out["BLEU-%d" % (k + 1)] = (float(bleu[k]), [float(s) for s in bleu_per_image[k]])
    rouge, rouge_per_image = Rouge().compute_score(gts, res)
    out["ROUGE-L"] = (float(rouge), [float(s) for s in rouge_per_image])
    return out


def reference_scores(candidates, references, han="characters", best_of=None, table=None):
    """Expected `score --json` content from pycocoevalcap. candidates: id -> list (ranked) of texts;
    references: id -> list of texts. Ids are scored in UTF-8 byte order, as the CLI does."""
    ids = sorted(candidates, key=lambda s: s.encode("utf-8"))
    k = best_of or max(len(c) for c in candidates.values())
    gts = {i: [joined(r, han) for r in references[i]] for i in ids}
    cands = {i: [joined(c, han) for c in candidates[i][:k]] for i in ids}

    def as_json(scores, extra=None):
        per_image = {}
        for n, i in enumerate(ids):
            per_image[i] = {m: scores[m][1][n] for m in METRICS}
            if extra:
                per_image[i].update(extra[n])
        return {"corpus": {m: scores[m][0] for m in METRICS}, "per_image": per_image}

    top1 = coco_all({i: [cands[i][0]] for i in ids}, gts, table)
    # Best-of-k: a candidate's CIDEr-D does not depend on the other images' candidates (df comes from the
    # references), so rank r is scored for all images at once (images without rank r reuse rank 0, ignored).
    by_rank = []
    for r in range(k):
        res = {i: [cands[i][r] if r < len(cands[i]) else cands[i][0]] for i in ids}
        by_rank.append(coco_cider(res, gts, "D", table)[1])
    chosen, extra = {}, []
    for n, i in enumerate(ids):
        values = [by_rank[r][n] for r in range(len(cands[i]))]
        best = 0
        for r in range(1, len(values)):
            if values[r] > values[best]:
                best = r
        chosen[i] = [cands[i][best]]
        extra.append({"rank": best, "candidates_cider_d": values})
    best = coco_all(chosen, gts, table)
    return {
        "df_mode": "evaluated-references" if table is None else "table",
        "df_documents": len(ids) if table is None else table[1],
        "images": len(ids),
        "top1": as_json(top1),
        "best_of_k": dict(as_json(best, extra), k=k),
    }


def document_frequency_text(frequencies, documents, han="characters"):
    """A df table in our file format (docs/METRICS.md), from pycocoevalcap's counts."""
    lines = ["cxrcaption-document-frequency 1", "tokenizer " + tokenizer_name(han),
             "documents %d" % documents, "ngrams %d" % len(frequencies)]
    for gram in sorted(frequencies, key=lambda s: s.encode("utf-8")):
        lines.append("%d\t%s" % (frequencies[gram], gram))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------
# The Swift CLI




def swift_scores(candidates, references, han="characters", best_of=None, df_text=None, extra_args=()):
    with tempfile.TemporaryDirectory() as tmp:
        c, r = os.path.join(tmp, "c.json"), os.path.join(tmp, "r.json")
        with open(c, "w", encoding="utf-8") as f:
            json.dump(candidates, f, ensure_ascii=False)
        with open(r, "w", encoding="utf-8") as f:
            json.dump(references, f, ensure_ascii=False)
        args = [cli_path(), "score", "--candidates", c, "--references", r, "--json", "--han", han]
        if best_of:
            args += ["--best-of", str(best_of)]
        if df_text is not None:
            d = os.path.join(tmp, "t.df")
            with open(d, "w", encoding="utf-8") as f:
                f.write(df_text)
            args += ["--df", d]
        done = subprocess.run(args + list(extra_args), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def swift_saved_df(references, han="characters"):
    with tempfile.TemporaryDirectory() as tmp:
        r, d = os.path.join(tmp, "r.json"), os.path.join(tmp, "t.df")
        with open(r, "w", encoding="utf-8") as f:
            json.dump(references, f, ensure_ascii=False)
        done = subprocess.run([cli_path(), "score", "--references", r, "--save-df", d, "--han", han],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        with open(d, encoding="utf-8") as f:
            return f.read()


def differences(expected, actual):
    """Max |difference| per metric over corpus and per-image scores of top1 and best_of_k; also checks the
    structure (ids, ranks, df mode) exactly."""
    for key in ("df_mode", "df_documents", "images"):
        assert expected[key] == actual[key], (key, expected[key], actual[key])
    worst = defaultdict(float)
    for part in ("top1", "best_of_k"):
        e, a = expected[part], actual[part]
        assert list(e["per_image"]) == list(a["per_image"]), "image ids differ"
        for m in METRICS:
            worst[m] = max(worst[m], abs(e["corpus"][m] - a["corpus"][m]))
            for i in e["per_image"]:
                worst[m] = max(worst[m], abs(e["per_image"][i][m] - a["per_image"][i][m]))
        if part == "best_of_k":
            assert e["k"] == a["k"]
            for i in e["per_image"]:
                ei, ai = e["per_image"][i], a["per_image"][i]
                assert len(ei["candidates_cider_d"]) == len(ai["candidates_cider_d"]), i
                for x, y in zip(ei["candidates_cider_d"], ai["candidates_cider_d"]):
                    worst["CIDEr-D"] = max(worst["CIDEr-D"], abs(x - y))
                # Ranks must agree unless two candidates tie within the tolerance.
                if ei["rank"] != ai["rank"]:
                    values = ei["candidates_cider_d"]
                    assert abs(values[ei["rank"]] - values[ai["rank"]]) <= TOLERANCE, (i, ei["rank"], ai["rank"])
    return dict(worst)


def assert_equal(expected, actual, label):
    worst = differences(expected, actual)
    print("%s: max |swift - pycocoevalcap| %s" % (label, ", ".join("%s %.3g" % kv for kv in worst.items())))
    assert max(worst.values()) <= TOLERANCE, (label, worst)
    return worst


# ---------------------------------------------------------------------------------------------------------
# Drawing candidate/reference sets from real IU report text


def iu_texts():
    with open(IU_REPORTS, encoding="utf-8") as f:
        reports = json.load(f)
    return [(r.get("impression") or "", r.get("findings") or "") for r in reports]


def draw_corpus(reports, rng, images, max_candidates=4):
    """id -> ranked candidates, id -> references, from real impressions and findings, with the edge cases the
    scorers must agree on: empty, punctuation-only and one-token candidates, repeated n-grams, shuffled and
    truncated references, exact copies."""
    texts = [t for pair in reports for t in pair if tokenize(t)]
    candidates, references = {}, {}
    for n in range(images):
        impression, findings = reports[rng.randrange(len(reports))]
        refs = [t for t in (impression, findings) if tokenize(t) and rng.random() < 0.8]
        refs += [rng.choice(texts) for _ in range(rng.randrange(0, 4))]
        if not refs:
            refs = [rng.choice(texts)]
        cands = []
        for _ in range(rng.randrange(1, max_candidates + 1)):
            words = rng.choice(texts).split()
            kind = rng.randrange(10)
            if kind == 0:
                cands.append(rng.choice(["", " ", "...", "-"]))
            elif kind == 1:
                cands.append(rng.choice(words))
            elif kind == 2:
                chunk = " ".join(words[: rng.randrange(1, 4)])
                cands.append(" ".join([chunk] * rng.randrange(2, 6)))
            elif kind == 3:
                cands.append(rng.choice(refs))
            elif kind == 4:
                shuffled = rng.choice(refs).split()
                rng.shuffle(shuffled)
                cands.append(" ".join(shuffled))
            elif kind == 5:
                ref = rng.choice(refs).split()
                cands.append(" ".join(ref[: rng.randrange(1, len(ref) + 1)]))
            else:
                cands.append(rng.choice(texts))
        key = "img%05d" % n
        candidates[key] = cands
        references[key] = refs
    return candidates, references


# ---------------------------------------------------------------------------------------------------------
# The frozen fixture (Tests/CXRKitTests/Fixtures/metrics)

EDGE_CASES = {
    # One image: N = 1, so every idf is ln(1) - ln(1) = 0 and CIDEr is 0 even for a perfect candidate.
    "single_image": {"han": "characters",
                     "candidates": {"only": ["No acute cardiopulmonary abnormality.", ""]},
                     "references": {"only": ["No acute cardiopulmonary abnormality."]}},
    "two_images": {"han": "characters",
                   "candidates": {"a": ["No acute disease."], "b": ["heart heart heart heart"]},
                   "references": {"a": ["No acute disease.", "No active disease."],
                                  "b": ["Heart size is normal.", "The heart is normal in size."]}},
    "empty_and_one_token": {"han": "characters",
                            "candidates": {"e": [""], "p": ["..."], "o": ["normal"], "r": ["no no no no no"],
                                           "f": ["Normal chest."]},
                            "references": {"e": ["Normal chest x-XXXX."], "p": ["No acute disease."],
                                           "o": ["Normal."], "r": ["No pneumothorax. No effusion. No edema."],
                                           "f": ["Normal chest.", "Normal chest x-XXXX.", "No acute findings."]}},
    "unicode": {"han": "characters",
                "candidates": {"u1": ["Naïve RÉSUMÉ of the İstanbul ΣΑΣ case: 1.5 cm nodule."],
                               "u2": ["两肺纹理增多，心影不大。"], "u3": ["Ｘ線 normal ｃｈｅｓｔ"]},
                "references": {"u1": ["naïve résumé, 1.5cm nodule", "ΣΑΣ nodule"],
                               "u2": ["两肺纹理增多。", "心影不大，两肺未见异常。"], "u3": ["ｃｈｅｓｔ normal"]}},
    "han_words": {"han": "words",
                  "candidates": {"z1": ["两肺 纹理 增多 ， 心影 不大 。"], "z2": ["两肺 未见 异常"]},
                  "references": {"z1": ["两肺 纹理 增多 。", "心影 不大"], "z2": ["两肺 未见 明显 异常 。"]}},
}


def fixture_inputs():
    """The fixture's main case, drawn from real IU text (needs ../shared), and its df corpus."""
    reports = iu_texts()
    rng = random.Random(20261129)
    candidates, references = draw_corpus(reports[:3000], rng, 60)
    df_corpus = {}
    for n in range(50):
        impression, findings = reports[3000 + n]
        refs = [t for t in (impression, findings) if tokenize(t)]
        if refs:
            df_corpus["doc%04d" % n] = refs
    return candidates, references, df_corpus


def write_fixture():
    FIXTURE.mkdir(parents=True, exist_ok=True)
    candidates, references, df_corpus = fixture_inputs()
    df, documents = coco_document_frequency({k: [joined(t, "characters") for t in v] for k, v in df_corpus.items()})
    df_text = document_frequency_text(df, documents)
    expected = {
        "generator": "Tests/python/test_metrics_pycocoevalcap.py --write-fixture",
        "best_of": 3,
        "main": reference_scores(candidates, references, best_of=3),
        "table": reference_scores(candidates, references, best_of=3, table=(df, documents)),
        "edge_cases": {name: dict(case, expected=reference_scores(case["candidates"], case["references"],
                                                                   han=case["han"]))
                       for name, case in EDGE_CASES.items()},
    }
    for name, value in (("candidates.json", candidates), ("references.json", references),
                        ("df_corpus.json", df_corpus), ("expected.json", expected)):
        with open(FIXTURE / name, "w", encoding="utf-8") as f:
            json.dump(value, f, ensure_ascii=False, indent=1, sort_keys=False)
            f.write("\n")
    with open(FIXTURE / "df_corpus.df", "w", encoding="utf-8") as f:
        f.write(df_text)


def load_fixture(name):
    with open(FIXTURE / name, encoding="utf-8") as f:
        return json.load(f)


# ---------------------------------------------------------------------------------------------------------
# Tests


def _requires_reports():
    import pytest

    if not IU_REPORTS.exists():
        pytest.skip("../shared/data/iu-reports is absent: the large real-text comparison is skipped")


def test_tokenizer_rule():
    assert tokenize("Heart size is normal. No XXXX, 1.5 cm.") == \
        ["heart", "size", "is", "normal", "no", "xxxx", "1", "5", "cm"]
    assert tokenize("x-ray: patient's") == ["x", "ray", "patient", "s"]
    assert tokenize("两肺纹理。") == ["两", "肺", "纹", "理"]
    assert tokenize("两肺 纹理。", "words") == ["两肺", "纹理"]
    assert tokenize("ΣΑΣ") == ["σασ"]


def test_fixture_is_pycocoevalcap_output():
    """The committed expected scores are what pycocoevalcap computes now (no Swift needed)."""
    expected = load_fixture("expected.json")
    candidates, references = load_fixture("candidates.json"), load_fixture("references.json")
    df_corpus = load_fixture("df_corpus.json")
    df, documents = coco_document_frequency({k: [joined(t, "characters") for t in v] for k, v in df_corpus.items()})
    assert (FIXTURE / "df_corpus.df").read_text(encoding="utf-8") == document_frequency_text(df, documents)
    assert max(differences(expected["main"], reference_scores(candidates, references, best_of=3)).values()) == 0
    assert max(differences(expected["table"], reference_scores(candidates, references, best_of=3,
                                                               table=(df, documents))).values()) == 0
    for name, case in expected["edge_cases"].items():
        now = reference_scores(case["candidates"], case["references"], han=case["han"])
        assert max(differences(case["expected"], now).values()) == 0, name


def test_swift_cli_matches_fixture():
    expected = load_fixture("expected.json")
    candidates, references = load_fixture("candidates.json"), load_fixture("references.json")
    df_text = (FIXTURE / "df_corpus.df").read_text(encoding="utf-8")
    assert_equal(expected["main"], swift_scores(candidates, references, best_of=3), "fixture main")
    assert_equal(expected["table"], swift_scores(candidates, references, best_of=3, df_text=df_text),
                 "fixture df table")
    assert swift_saved_df(load_fixture("df_corpus.json")) == df_text
    for name, case in expected["edge_cases"].items():
        assert_equal(case["expected"], swift_scores(case["candidates"], case["references"], han=case["han"]),
                     "edge case " + name)


def run_real_text_comparison(images=2500, seed=1):
    """Several thousand candidate/reference pairs from real IU impressions and findings."""
    reports = iu_texts()
    rng = random.Random(seed)
    candidates, references = draw_corpus(reports, rng, images)
    pairs = sum(len(c) for c in candidates.values())
    print("real text: %d images, %d candidates, %d references" %
          (images, pairs, sum(len(r) for r in references.values())))
    worst = {}
    expected = reference_scores(candidates, references, best_of=3)
    ranks = [image["rank"] for image in expected["best_of_k"]["per_image"].values()]
    assert sum(r > 0 for r in ranks) > images // 10, "the draw must exercise best-of-k choices"
    assert expected["best_of_k"]["corpus"]["CIDEr-D"] > expected["top1"]["corpus"]["CIDEr-D"] > 0
    worst["top-1 and best-of-3"] = assert_equal(
        expected, swift_scores(candidates, references, best_of=3), "real text, %d images, best-of-3" % images)
    # A df table from 1,500 other reports' references, applied to 800 images.
    table_refs = {"t%04d" % n: [t for t in pair if tokenize(t)] for n, pair in enumerate(reports[-1500:])}
    table_refs = {k: v for k, v in table_refs.items() if v}
    df, documents = coco_document_frequency({k: [joined(t, "characters") for t in v] for k, v in table_refs.items()})
    df_text = swift_saved_df(table_refs)
    assert df_text == document_frequency_text(df, documents), "Swift --save-df differs from pycocoevalcap's df"
    subset = sorted(candidates)[:800]
    sub_c = {k: candidates[k] for k in subset}
    sub_r = {k: references[k] for k in subset}
    worst["df table"] = assert_equal(reference_scores(sub_c, sub_r, table=(df, documents)),
                                     swift_scores(sub_c, sub_r, df_text=df_text), "real text, df table")
    # Single-image corpora (idf 0) and tiny corpora.
    for n in range(20):
        one = sorted(candidates)[n * 7]
        c, r = {one: candidates[one]}, {one: references[one]}
        assert_equal(reference_scores(c, r), swift_scores(c, r), "single image %s" % one)
    return pairs, worst


def test_swift_cli_matches_pycocoevalcap_on_real_text():
    _requires_reports()
    pairs, _ = run_real_text_comparison()
    assert pairs >= 5000


if __name__ == "__main__":
    if "--write-fixture" in sys.argv:
        write_fixture()
        print("wrote", FIXTURE)
    if "--report" in sys.argv:
        test_tokenizer_rule()
        test_fixture_is_pycocoevalcap_output()
        test_swift_cli_matches_fixture()
        print(run_real_text_comparison())
