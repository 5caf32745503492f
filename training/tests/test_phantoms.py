"""Phantom renderer: determinism, value ranges, one visible finding per mask, the IU label mapping."""
import os

import numpy as np
import pytest

from cxrcaption_phantoms.findings import KINDS, LABELS, Finding
from cxrcaption_phantoms.iu_dataset import DEFAULT_REPORTS, build_entries, load_studies, map_term, study_findings
from cxrcaption_phantoms.render import SIZE, parse_findings, render

# one example per kind (side/zone/severity where the kind has them)
EXAMPLES = {
    "cardiomegaly": Finding("cardiomegaly", severity="moderate"),
    "pleural_effusion": Finding("pleural_effusion", "right", severity="large"),
    "atelectasis": Finding("atelectasis", "left", "base"),
    "airspace_opacity": Finding("airspace_opacity", "right", "lower", "moderate"),
    "calcified_granuloma": Finding("calcified_granuloma", "left", "upper", "multiple"),
    "nodule": Finding("nodule", "right", "middle"),
    "mass": Finding("mass", "left", "upper"),
    "hyperinflation": Finding("hyperinflation", severity="moderate"),
    "hypoinflation": Finding("hypoinflation", severity="moderate"),
    "pneumothorax": Finding("pneumothorax", "right", severity="large"),
    "tortuous_aorta": Finding("tortuous_aorta", severity="moderate"),
    "aortic_calcification": Finding("aortic_calcification"),
    "degenerative_spine": Finding("degenerative_spine", severity="moderate"),
    "scoliosis": Finding("scoliosis", "right", severity="moderate"),
    "sternotomy_wires": Finding("sternotomy_wires"),
    "pacemaker": Finding("pacemaker", "left"),
    "catheter": Finding("catheter", "right"),
    "elevated_hemidiaphragm": Finding("elevated_hemidiaphragm", "right", severity="moderate"),
    "scarring": Finding("scarring", "left", "apex"),
    "congestion": Finding("congestion", severity="moderate"),
    "hiatal_hernia": Finding("hiatal_hernia", severity="large"),
    "endotracheal_tube": Finding("endotracheal_tube"),
}
SEED = 11


@pytest.fixture(scope="module")
def normal():
    return render([], seed=SEED)


def test_examples_cover_every_kind():
    assert set(EXAMPLES) == set(KINDS) == set(LABELS)


def test_same_seed_same_image_other_seed_other_image():
    fs = [EXAMPLES["nodule"], EXAMPLES["pleural_effusion"]]
    a, b, c = render(fs, seed=3), render(fs, seed=3), render(fs, seed=4)
    assert np.array_equal(a.image, b.image)
    assert all(np.array_equal(m1, m2) for (_, m1), (_, m2) in zip(a.masks, b.masks))
    assert np.abs(a.image.astype(np.int64) - c.image.astype(np.int64)).mean() > 500


def test_image_type_and_range(normal):
    img = normal.image
    assert img.dtype == np.uint16 and img.shape == (SIZE, SIZE)
    p1, p99 = np.percentile(img, [1, 99])
    assert 1000 <= img.min() and img.max() <= 62100
    assert p99 - p1 > 25000, "the image should use a wide range of levels"
    # lungs (left/right of the midline, mid height) darker than the mediastinum (midline)
    lung = np.r_[img[200:300, 120:170].ravel(), img[200:300, 345:395].ravel()].mean()
    mediastinum = img[240:320, 240:272].mean()
    assert mediastinum > lung + 8000


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_finding_has_a_mask_where_the_image_changed(kind, normal):
    f = EXAMPLES[kind]
    res = render([f], seed=SEED)
    assert len(res.masks) == 1 and res.masks[0][0] == f
    mask = res.masks[0][1]
    assert mask.dtype == bool and mask.shape == (SIZE, SIZE)
    area = mask.mean()
    assert 0.0003 < area < 0.6, f"{kind}: mask covers {area:.4f} of the image"
    diff = np.abs(res.image.astype(np.float64) - normal.image.astype(np.float64))
    inside = diff[mask].mean()
    assert inside > 400, f"{kind}: image barely changed inside the mask ({inside:.0f} levels)"
    if kind not in ("hyperinflation", "hypoinflation", "elevated_hemidiaphragm", "tortuous_aorta",
                    "cardiomegaly", "scoliosis", "congestion"):
        # local findings leave the rest of the image alone (same seed, independent random streams)
        outside = diff[~mask].mean()
        assert inside > 8 * outside, f"{kind}: change not confined to the mask ({inside:.0f} vs {outside:.0f})"


def test_cardiomegaly_widens_the_heart(normal):
    assert normal.meta["ctr"] < 0.5
    assert render([Finding("cardiomegaly", severity="mild")], seed=SEED).meta["ctr"] >= 0.55
    assert render([Finding("cardiomegaly", severity="moderate")], seed=SEED).meta["ctr"] >= 0.62


def test_opacities_are_brighter_and_pneumothorax_darker(normal):
    base = normal.image.astype(np.float64)
    for kind, sign in (("pleural_effusion", 1), ("mass", 1), ("airspace_opacity", 1), ("pneumothorax", -1)):
        res = render([EXAMPLES[kind]], seed=SEED)
        m = res.masks[0][1]
        delta = (res.image.astype(np.float64) - base)[m].mean()
        assert sign * delta > 400, f"{kind}: mean change {delta:.0f}"


def test_several_findings_several_masks():
    fs = parse_findings("pleural_effusion:bilateral::small,nodule:left:upper,sternotomy_wires")
    res = render(fs, seed=2)
    assert [f for f, _ in res.masks] == fs
    assert all(m.any() for _, m in res.masks)


def test_bad_findings_are_rejected():
    with pytest.raises(ValueError, match="unknown finding kind"):
        Finding("broken_heart")
    with pytest.raises(ValueError, match="severity"):
        Finding("pleural_effusion", "left", severity="huge")
    with pytest.raises(ValueError, match="side"):
        Finding("nodule", side="middle")


# --- IU label mapping ----------------------------------------------------------------------------------

def test_map_term_examples():
    assert map_term("normal") == []
    assert map_term("No Indexing") == "ignore"
    assert map_term("Technical Quality of Image Unsatisfactory ") == "ignore"
    assert map_term("Cardiomegaly/mild") == [dict(kind="cardiomegaly", severity="mild")]
    assert map_term("Pleural Effusion/right/small") == [dict(kind="pleural_effusion", side="right", severity="small")]
    assert map_term("Opacity/lung/base/left")[0]["kind"] == "airspace_opacity"
    assert map_term("Opacity/lung/base/bilateral/streaky")[0]["kind"] == "atelectasis"
    assert map_term("Calcinosis/aorta") == [dict(kind="aortic_calcification")]
    assert map_term("Calcified Granuloma/lung/upper lobe/left")[0] == dict(
        kind="calcified_granuloma", side="left", zone="upper", severity="single")
    assert map_term("Lung/hyperdistention")[0]["kind"] == "hyperinflation"
    assert map_term("Kyphosis/thoracic vertebrae") is None  # not visible on a PA phantom: unmapped


def test_study_findings_merge_and_fill_defaults():
    rng = np.random.default_rng(0)
    fs, unmapped = study_findings(["Cardiomegaly", "Cardiomegaly/moderate", "Pleural Effusion",
                                   "Pleural Effusion/left/small", "Kyphosis"], rng)
    kinds = [f.kind for f in fs]
    assert kinds.count("cardiomegaly") == 1 and kinds.count("pleural_effusion") == 1
    card = next(f for f in fs if f.kind == "cardiomegaly")
    eff = next(f for f in fs if f.kind == "pleural_effusion")
    assert card.severity == "moderate" and eff.side == "left" and eff.severity == "small"
    assert unmapped == ["Kyphosis"]
    fs, unmapped = study_findings(["normal"], rng)
    assert fs == [] and unmapped == []


def test_entries_are_reproducible():
    studies = [dict(id="CXR1_IM-0001", split="train", report_id=1, impression="Normal.", findings="",
                    mesh=["Nodule/lung/upper lobe/right", "Pulmonary Atelectasis"])]
    a = build_entries(studies, per_study_train=2)
    b = build_entries(studies, per_study_train=2)
    assert a == b and len(a) == 2
    assert a[0]["seed"] != a[1]["seed"]
    assert a[0]["labels"] == ["atelectasis", "nodule"]
    assert a[0]["image"] == "images/train/CXR1_IM-0001_0.png"


@pytest.mark.skipif(not os.path.isdir(DEFAULT_REPORTS), reason=f"shared IU reports not found at {DEFAULT_REPORTS}")
def test_real_split_sizes_and_coverage():
    studies = load_studies()
    counts = {s: sum(st["split"] == s for st in studies) for s in ("train", "val", "test")}
    assert counts == {"train": 2069, "val": 296, "test": 590}
    entries = build_entries(studies)
    covered = np.mean([e["covered"] for e in entries])
    assert covered > 0.75, f"only {covered:.1%} of studies fully covered"
    assert sum(bool(e["labels"]) for e in entries) > 1000
