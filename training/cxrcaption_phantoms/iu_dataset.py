"""The iu-phantom dataset: one phantom radiograph per Indiana University study (more for training if
asked), its findings taken from the real report's `mesh_major` labels, its target text the real report.

    cxrcaption-phantoms --out DATA_DIR [--per-study-train 1] [--subset 20] [--workers 2]
    cxrcaption-phantoms --coverage-only

(`cxrcaption-phantoms` is `python -m cxrcaption_phantoms.iu_dataset`.)

Writes DATA_DIR/manifest.jsonl (one line per image) and DATA_DIR/images/<split>/<id>_<k>.png (16-bit).
A manifest line: {"id", "image" (path relative to the manifest), "split", "impression", "report" (= the
impression: the reference `cxrcaption eval` reads), "findings",
"labels" (finding kinds, the findings head's label names), "findings_spec" (what was rendered),
"mesh" (the report's labels), "unmapped" (labels not rendered), "covered", "seed", "copy"}.

Label mapping (`map_term`): each `mesh_major` term "Head/qualifier/..." maps to renderable findings
(`cxrcaption_phantoms.findings.KINDS`), to nothing on purpose (`IGNORED`: indexing notes and image-quality remarks)
or stays unmapped (reported, not rendered). A study is *fully covered* when every term is rendered or
ignored; `normal` is covered with no findings. Unspecified side/severity are drawn per study from a
seeded generator so they are reproducible.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import zlib

import numpy as np

from cxrcaption_ref.checkout import shared_data

from .findings import Finding, KINDS, LABELS

# ../shared/data/iu-reports beside the checkout ("" when not installed from one: then --reports is needed)
DEFAULT_REPORTS = "" if shared_data() is None else str(shared_data() / "iu-reports")

IGNORED = {"No Indexing", "Technical Quality of Image Unsatisfactory"}
SPLITS = ("train", "val", "test")


def _side(q: list[str]) -> str | None:
    for s in ("bilateral", "right", "left"):
        if s in q:
            return s
    return None


def _zone(q: list[str]) -> str | None:
    table = [("lingula", "lingula"), ("middle lobe", "middle"), ("apex", "apex"), ("upper lobe", "upper"),
             ("base", "base"), ("lower lobe", "lower"), ("hilum", "hilum"), ("lymph nodes", "hilum"),
             ("paratracheal", "hilum"), ("retrocardiac", "base"), ("diffuse", "diffuse"),
             ("scattered", "diffuse")]
    for key, zone in table:
        if key in q:
            return zone
    return None


def _mild(q, default="moderate"):
    if "mild" in q or "borderline" in q or "small" in q:
        return "mild"
    if "moderate" in q or "severe" in q or "large" in q:
        return "moderate"
    return default


def map_term(term: str) -> list[dict] | str | None:
    """One mesh_major term -> list of partial finding dicts, "ignore", or None (not renderable)."""
    term = term.strip()
    parts = [p.strip() for p in term.split("/")]
    head, q = parts[0], parts[1:]
    if head == "normal":
        return []
    if head in IGNORED:
        return "ignore"
    side, zone = _side(q), _zone(q)
    lung_q = not q or "lung" in q or zone is not None or side is not None

    if head == "Cardiomegaly" or (head == "Cardiac Shadow" and "enlarged" in q) or (
            head == "Heart" and "enlarged" in q):
        sev = next((s for s in ("borderline", "mild", "moderate", "severe") if s in q), None)
        return [dict(kind="cardiomegaly", severity=sev)]
    if head == "Pleural Effusion":
        sev = "large" if ("large" in q or "moderate" in q or "severe" in q) else ("small" if "small" in q else None)
        return [dict(kind="pleural_effusion", side=side, severity=sev)]
    if head == "Costophrenic Angle" and ("blunted" in q or "obscured" in q):
        return [dict(kind="pleural_effusion", side=side, severity="small")]
    if head == "Pulmonary Atelectasis" or head == "Volume Loss":
        return [dict(kind="atelectasis", side=side, zone=zone or "base", severity=_mild(q, "mild"))]
    if head in ("Opacity", "Airspace Disease", "Consolidation", "Pneumonia", "Infiltrate", "Density"):
        if "interstitial" in q:
            return None
        if not lung_q and not {"retrocardiac", "round"} & set(q):
            return None
        if "streaky" in q:
            return [dict(kind="atelectasis", side=side, zone=zone or "base", severity="mild")]
        if head == "Density" and "round" in q:
            return [dict(kind="nodule", side=side, zone=zone)]
        return [dict(kind="airspace_opacity", side=side, zone=zone or "lower", severity=_mild(q))]
    if head in ("Calcified Granuloma", "Granulomatous Disease", "Granuloma"):
        mult = "multiple" if ({"multiple", "scattered"} & set(q) or head == "Granulomatous Disease") else "single"
        return [dict(kind="calcified_granuloma", side=side, zone=zone, severity=mult)]
    if head == "Calcinosis":
        if "aorta" in q or "aorta, thoracic" in q or "blood vessels" in q:
            return [dict(kind="aortic_calcification")]
        if {"lung", "lymph nodes", "mediastinum", "hilum"} & set(q) or "trachea, carina" in q:
            mult = "multiple" if {"multiple", "scattered"} & set(q) else "single"
            return [dict(kind="calcified_granuloma", side=side, zone=zone or "hilum", severity=mult)]
        return None
    if head == "Atherosclerosis" and ("aorta" in q or "aorta, thoracic" in q or not q):
        return [dict(kind="aortic_calcification")]
    if head == "Nodule" and lung_q:
        return [dict(kind="nodule", side=side, zone=zone)]
    if head == "Mass" and ("lung" in q or "thorax" in q):
        return [dict(kind="mass", side=side, zone=zone)]
    if (head == "Lung" and "hyperdistention" in q) or head in (
            "Emphysema", "Pulmonary Emphysema", "Pulmonary Disease, Chronic Obstructive", "Lung, Hyperlucent") or (
            head == "Diaphragm" and "flattened" in q):
        return [dict(kind="hyperinflation", severity=_mild(q))]
    if head == "Lung" and "hypoinflation" in q:
        return [dict(kind="hypoinflation", severity=_mild(q))]
    if head == "Pneumothorax":
        sev = "large" if ("large" in q or "moderate" in q) else "small"
        return [dict(kind="pneumothorax", side=side if side != "bilateral" else None, severity=sev)]
    if head in ("Aorta", "Aorta, Thoracic") and ("tortuous" in q or "enlarged" in q or "prominent" in q):
        return [dict(kind="tortuous_aorta", severity=_mild(q))]
    if head in ("Spine", "Thoracic Vertebrae", "Lumbar Vertebrae") and "degenerative" in q or head in (
            "Spondylosis", "Osteophyte") or (head == "Arthritis" and {"spine", "thoracic vertebrae"} & set(q)):
        return [dict(kind="degenerative_spine", severity=_mild(q))]
    if head == "Scoliosis":
        return [dict(kind="scoliosis", side=side if side != "bilateral" else None, severity=_mild(q, None))]
    if head == "Surgical Instruments" and (not q or "mediastinum" in q or "heart" in q or q == ["thorax"]):
        return [dict(kind="sternotomy_wires")]
    if head in ("Implanted Medical Device",) and "abdomen" not in q:
        return [dict(kind="pacemaker", side=side if side in ("left", "right") else "left")]
    if head == "Catheters, Indwelling":
        return [dict(kind="catheter", side=side if side in ("left", "right") else None)]
    if head == "Tube, Inserted" and ("trachea" in q or "trachea, carina" in q):
        return [dict(kind="endotracheal_tube")]
    if head in ("Diaphragm", "Diaphragmatic Eventration") and ("elevated" in q or head == "Diaphragmatic Eventration"):
        if side == "bilateral":
            return [dict(kind="hypoinflation", severity="mild")]
        return [dict(kind="elevated_hemidiaphragm", side=side, severity=_mild(q))]
    if head == "Cicatrix":
        return [dict(kind="scarring", side=side, zone=zone or "apex")]
    if head in ("Pulmonary Congestion", "Pulmonary Edema") or (head == "Markings" and "bronchovascular" in q):
        return [dict(kind="congestion", severity=_mild(q))]
    if head == "Hernia, Hiatal":
        return [dict(kind="hiatal_hernia", severity="large" if "large" in q else "small")]
    return None


_SEV_RANK = {None: 0, "borderline": 1, "small": 1, "single": 1, "mild": 2, "moderate": 3, "large": 3,
             "multiple": 3, "severe": 4}


def study_findings(mesh: list[str], rng: np.random.Generator) -> tuple[list[Finding], list[str]]:
    """Renderable findings of one study (merged, defaults drawn from rng) and its unmapped terms."""
    parts, unmapped = [], []
    for term in mesh:
        m = map_term(term)
        if m is None:
            unmapped.append(term.strip())
        elif m != "ignore":
            parts.extend(m)
    merged: dict = {}
    for p in parts:
        kind = p["kind"]
        sev_opts, has_side, has_zone = KINDS[kind]
        key = (kind, p.get("side") if has_side else None, p.get("zone") if has_zone else None)
        if not has_side and not has_zone:
            key = (kind, None, None)
        old = merged.get(key)
        if old is None or _SEV_RANK[p.get("severity")] > _SEV_RANK[old.get("severity")]:
            merged[key] = p
    # a sided entry makes an unsided one of the same kind redundant
    for key in list(merged):
        kind, side, zone = key
        if side is None and KINDS[kind][1] and any(k[0] == kind and k[1] for k in merged if k != key):
            del merged[key]
    findings = []
    for p in merged.values():
        kind = p["kind"]
        sev_opts, has_side, has_zone = KINDS[kind]
        side = p.get("side")
        if has_side and side is None:
            choices = ["right", "left", "bilateral"] if kind in (
                "pleural_effusion", "atelectasis", "airspace_opacity", "calcified_granuloma",
                "congestion", "scarring") else ["right", "left"]
            side = str(rng.choice(choices))
        if not has_side:
            side = None
        sev = p.get("severity")
        if sev is not None and sev not in sev_opts:
            sev = None
        if sev is None and sev_opts and kind not in ("scoliosis",):
            sev = str(rng.choice(sev_opts if kind != "cardiomegaly" else ("mild", "moderate")))
        zone = p.get("zone") if has_zone else None
        if kind in ("nodule", "mass") and side == "bilateral":
            side = str(rng.choice(["right", "left"]))
        if zone == "lingula" and side == "right":
            zone = "middle"
        if zone == "lingula" and side == "bilateral":
            side = "left"
        findings.append(Finding(kind, side, zone, sev))
    findings.sort(key=lambda f: (LABELS.index(f.kind), f.name))
    return findings, unmapped


def stable_seed(*parts) -> int:
    return zlib.crc32("|".join(map(str, parts)).encode()) & 0x7FFFFFFF


def load_studies(reports_dir: str = DEFAULT_REPORTS) -> list[dict]:
    """Studies of the R2Gen split joined to their parsed reports, in split order."""
    parsed = json.load(open(os.path.join(reports_dir, "iu_reports_parsed.json")))
    by_id = {r["report_id"]: r for r in parsed}
    split = json.load(open(os.path.join(reports_dir, "r2gen_split.json")))
    out = []
    for name in SPLITS:
        for e in split[name]:
            rid = int(e["id"][3:].split("_")[0])
            r = by_id[rid]
            out.append(dict(id=e["id"], split=name, report_id=rid, impression=(r.get("impression") or "").strip(),
                            findings=(r.get("findings") or "").strip(), mesh=[m.strip() for m in r["mesh_major"]]))
    return out


def build_entries(studies: list[dict], per_study_train: int = 1) -> list[dict]:
    entries = []
    for st in studies:
        copies = per_study_train if st["split"] == "train" else 1
        for k in range(copies):
            seed = stable_seed(st["id"], k)
            rng = np.random.default_rng(seed)
            fs, unmapped = study_findings(st["mesh"], rng)
            entries.append(dict(id=st["id"], split=st["split"], copy=k, seed=seed,
                                image=f"images/{st['split']}/{st['id']}_{k}.png",
                                impression=st["impression"], report=st["impression"], findings=st["findings"],
                                labels=sorted({f.kind for f in fs}, key=LABELS.index),
                                findings_spec=[f.to_dict() for f in fs], mesh=st["mesh"],
                                unmapped=unmapped, covered=not unmapped))
    return entries


def coverage_report(studies: list[dict]) -> str:
    lines = []
    term_counts = collections.Counter()
    unm = collections.Counter()
    kinds = collections.Counter()
    covered = collections.Counter()
    abnormal_cov = collections.Counter()
    abnormal = collections.Counter()
    total = collections.Counter()
    for st in studies:
        rng = np.random.default_rng(stable_seed(st["id"], 0))
        fs, unmapped = study_findings(st["mesh"], rng)
        total[st["split"]] += 1
        term_counts.update(st["mesh"])
        unm.update(unmapped)
        kinds.update({f.kind for f in fs})
        covered[st["split"]] += not unmapped
        is_abn = any(map_term(t) not in ([], "ignore") for t in st["mesh"])
        abnormal[st["split"]] += is_abn
        abnormal_cov[st["split"]] += is_abn and not unmapped
    lines.append("studies fully covered (every mesh_major term rendered or ignored):")
    for s in SPLITS:
        lines.append(f"  {s:5s} {covered[s]:5d}/{total[s]:5d} = {covered[s] / max(total[s], 1):.1%}   "
                     f"abnormal studies covered {abnormal_cov[s]}/{abnormal[s]} = "
                     f"{abnormal_cov[s] / max(abnormal[s], 1):.1%}")
    n = sum(total.values())
    lines.append(f"  all   {sum(covered.values())}/{n} = {sum(covered.values()) / n:.1%}")
    mapped_terms = sum(c for t, c in term_counts.items() if map_term(t) is not None)
    lines.append(f"term occurrences rendered or ignored: {mapped_terms}/{sum(term_counts.values())} = "
                 f"{mapped_terms / sum(term_counts.values()):.1%}")
    lines.append("studies per rendered label (all splits):")
    for k in LABELS:
        lines.append(f"  {k:24s} {kinds[k]}")
    lines.append("most frequent unmapped terms:")
    for t, c in unm.most_common(20):
        lines.append(f"  {c:4d} {t}")
    return "\n".join(lines)


def _render_one(args):
    entry, out_dir = args
    from .render import render, save_png16
    path = os.path.join(out_dir, entry["image"])
    if os.path.exists(path):
        return path
    res = render([Finding.from_dict(d) for d in entry["findings_spec"]], seed=entry["seed"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_png16(path + ".tmp.png", res.image)
    os.replace(path + ".tmp.png", path)
    if entry.get("_masks"):
        masks = {f"{i}:{f.name}": m for i, (f, m) in enumerate(res.masks)}
        np.savez_compressed(path[:-4] + "_masks.npz", **masks)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description="Build the iu-phantom manifest and render its images.")
    ap.add_argument("--reports", default=DEFAULT_REPORTS, help="folder with iu_reports_parsed.json, r2gen_split.json")
    ap.add_argument("--out", help="output folder (manifest.jsonl + images/)")
    ap.add_argument("--per-study-train", type=int, default=1, help="phantoms per training study")
    ap.add_argument("--subset", type=int, default=0,
                    help="only the first N studies of each split (smoke runs); 0 = all")
    ap.add_argument("--splits", default="train,val,test")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--masks", action="store_true", help="also save the masks (<image>_masks.npz); test split always")
    ap.add_argument("--no-render", action="store_true", help="write the manifest only")
    ap.add_argument("--coverage-only", action="store_true", help="print label coverage and exit")
    args = ap.parse_args(argv)
    if not os.path.isdir(args.reports):
        sys.exit(f"reports folder {args.reports!r} not found (give --reports DIR)")
    studies = load_studies(args.reports)
    print(coverage_report(studies))
    if args.coverage_only:
        return
    if not args.out:
        ap.error("--out is required unless --coverage-only")
    wanted = set(args.splits.split(","))
    studies = [s for s in studies if s["split"] in wanted]
    if args.subset:
        keep = []
        for name in SPLITS:
            keep += [s for s in studies if s["split"] == name][: args.subset]
        studies = keep
    entries = build_entries(studies, args.per_study_train)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "manifest.jsonl"), "w") as fh:
        for e in entries:
            fh.write(json.dumps(e, ensure_ascii=False) + "\n")
    with open(os.path.join(args.out, "labels.json"), "w") as fh:
        json.dump(list(LABELS), fh)
    print(f"wrote {len(entries)} manifest lines to {os.path.join(args.out, 'manifest.jsonl')}")
    if args.no_render:
        return
    for e in entries:
        e["_masks"] = args.masks or e["split"] == "test"
    jobs = [(e, args.out) for e in entries]
    if args.workers > 1:
        import multiprocessing as mp
        with mp.Pool(args.workers) as pool:
            for i, _ in enumerate(pool.imap_unordered(_render_one, jobs, chunksize=4)):
                if (i + 1) % 100 == 0:
                    print(f"rendered {i + 1}/{len(jobs)}", flush=True)
    else:
        for i, j in enumerate(jobs):
            _render_one(j)
            if (i + 1) % 100 == 0:
                print(f"rendered {i + 1}/{len(jobs)}", flush=True)
    print(f"rendered {len(jobs)} images under {args.out}")


if __name__ == "__main__":
    sys.exit(main())
