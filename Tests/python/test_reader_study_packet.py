"""Tests of `cxrcaption-cli reader-study make`: the packet readers get reveals nothing of a case's origin.

Blinding is checked on everything in the packet: its file names and listing, cases.json's fields and order,
the report texts' formatting (capitals, final punctuation, token joining, whitespace), the images' encoding,
and index.html; the key stays outside the packet, and the same seed makes the same packet.

Needs: pytest; the CLI binary (env CXRCAPTION_CLI, else `swift build --show-bin-path`).

    python -m pytest Tests/python/test_reader_study_packet.py -v
"""
import hashlib
import json
import re
import struct

import pytest
from cli_support import run_cli
from reader_study_support import MODEL, NORMALISED, make_packet, write_manifest

CASE_KEYS = {"case", "id", "image", "report"}


@pytest.fixture(scope="module")
def packet(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reader-study")
    done, out, key = make_packet(folder, model_cases=6, human_cases=6, seed=11)
    assert done.returncode == 0, done.stderr
    return folder, out, json.loads(key.read_text()), json.loads((out / "cases.json").read_text())


def png_chunks(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunks.append((kind.decode(), data[at + 8:at + 8 + length]))
        at += 12 + length
    return chunks


def test_packet_holds_only_neutral_files(packet):
    folder, out, key, cases = packet
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    expected = ["cases.json", "index.html"] + ["images/case-%03d.png" % n for n in range(1, 13)]
    assert files == sorted(expected)
    assert not list(out.rglob("*key*")), "no key file inside the packet"
    # Written in case order, so not even the files' times group the cases by origin.
    times = [(out / "images" / ("case-%03d.png" % n)).stat().st_mtime_ns for n in range(1, 13)]
    assert times == sorted(times)


def test_cases_json_has_no_origin_and_a_plain_order(packet):
    folder, out, key, cases = packet
    assert cases["format"] == "cxrcaption-reader-study-packet/1"
    assert cases["packet"] == key["packet"]
    assert [c["case"] for c in cases["cases"]] == list(range(1, 13))
    for c in cases["cases"]:
        assert set(c) == CASE_KEYS, c
        assert c["id"] == "case-%03d" % c["case"] and c["image"] == "images/%s.png" % c["id"]
    # The key's order is the packet's order, and the two sides are mixed (not one block then the other).
    origins = [c["origin"] for c in key["cases"]]
    assert [c["id"] for c in key["cases"]] == [c["id"] for c in cases["cases"]]
    assert sorted(origins) == ["human"] * 6 + ["model"] * 6
    assert origins != sorted(origins) and origins != sorted(origins, reverse=True)


def test_no_packet_file_names_what_the_key_knows(packet):
    folder, out, key, cases = packet
    secrets = {"origin", "model", "human", key["model"]["sha256"], key["model"]["file"], "manifest.jsonl"}
    for c in key["cases"]:
        secrets |= {c["study"], c["entry"], c["image"].rsplit("/", 1)[-1]}
    text = (out / "cases.json").read_text().lower()
    for secret in secrets:
        assert secret.lower() not in text, "cases.json names %r" % secret
    # index.html is a fixed template around cases.json (test_page_embeds_the_cases): outside the embedded
    # cases it is the same page for every packet, so it cannot name anything the key knows either.


def test_reports_are_formatted_alike_on_both_sides(packet):
    folder, out, key, cases = packet
    by_id = {c["id"]: c["report"] for c in cases["cases"]}

    def features(text):
        return (re.search(r"[A-Za-z]", text).group().isupper(), text.endswith(".") and not text.endswith(".."), "  " in text,
                bool(re.search(r"\s[.,;:!?)]", text)), bool(re.search(r"\(\s", text)),
                bool(re.search(r"[.!?] [a-z]", text)), text != text.strip(), "xxxx" in text, "<" in text)

    seen = {"model": set(), "human": set()}
    for c in key["cases"]:
        assert by_id[c["id"]] == c["text"]
        seen[c["origin"]].add(features(c["text"]))
    allowed = {(True, True, False, False, False, False, False, False, False)}
    assert seen["model"] <= allowed and seen["human"] <= allowed, seen
    for c in key["cases"]:
        if c["origin"] == "human":
            assert c["text"] == NORMALISED[c["source_text"]], c
        else:
            # The model writes lowercase tokens joined by spaces; shown, they follow the same rule.
            assert c["source_text"] == c["source_text"].lower()


def test_images_are_encoded_alike(packet):
    folder, out, key, cases = packet
    kinds = set()
    for c in cases["cases"]:
        chunks = png_chunks(out / c["image"])
        names = [name for name, _ in chunks]
        assert names[0] == "IHDR" and names[-1] == "IEND" and set(names) == {"IHDR", "IDAT", "IEND"}, names
        width, height, depth, color = struct.unpack(">IIBB", chunks[0][1][:10])
        kinds.add((depth, color))
        assert max(width, height) <= 2048
    assert kinds == {(8, 0)}, "every image is 8-bit gray"


def test_studies_are_disjoint_and_the_key_is_complete(packet):
    folder, out, key, cases = packet
    model = {c["study"] for c in key["cases"] if c["origin"] == "model"}
    human = {c["study"] for c in key["cases"] if c["origin"] == "human"}
    assert len(model) == 6 and len(human) == 6 and not model & human
    assert key["seed"] == 11 and key["split"] == "test"
    assert key["model"]["sha256"] == hashlib.sha256(MODEL.read_bytes()).hexdigest()
    assert key["format"] == "cxrcaption-reader-study-key/1"


def test_same_seed_same_packet_other_seed_other_order(packet, tmp_path):
    folder, out, key, cases = packet
    done, again, again_key = make_packet(folder, model_cases=6, human_cases=6, seed=11, name="again")
    assert done.returncode == 0, done.stderr
    assert (again / "cases.json").read_bytes() == (out / "cases.json").read_bytes()
    for c in cases["cases"]:
        assert (again / c["image"]).read_bytes() == (out / c["image"]).read_bytes()
    done, other, other_key = make_packet(folder, model_cases=6, human_cases=6, seed=12, name="other")
    assert done.returncode == 0, done.stderr
    assert [c["study"] for c in json.loads(other_key.read_text())["cases"]] != [c["study"] for c in key["cases"]]


def test_page_embeds_the_cases(packet):
    folder, out, key, cases = packet
    html = (out / "index.html").read_text()
    embedded = re.search(r'<script id="packet-data" type="application/json">(.*?)</script>', html, re.S).group(1)
    assert json.loads(embedded) == cases
    done, other, _ = make_packet(folder, model_cases=2, human_cases=3, seed=5, name="template")
    assert done.returncode == 0, done.stderr
    other_html = (other / "index.html").read_text()
    other_embedded = re.search(r'<script id="packet-data" type="application/json">(.*?)</script>', other_html,
                               re.S).group(1)
    assert html.replace(embedded, "") == other_html.replace(other_embedded, ""), "the page outside its cases is fixed"
    assert "http://" not in html and "https://" not in html, "the page loads nothing from a network"
    for level in ("All conditions identified and accurately described", "Major conditions missed or wrong"):
        assert level in html


def test_bad_input_is_refused_with_a_clear_message(tmp_path):
    manifest = write_manifest(tmp_path, studies=6)
    base = ["reader-study", "make", "--model", MODEL, "--manifest", manifest, "--seed", 1, "--quiet"]
    done = run_cli(*base, "--model-cases", 4, "--human-cases", 4, "--out", tmp_path / "p1")
    assert done.returncode != 0 and "has 6 studies" in done.stderr and "need 8" in done.stderr
    done = run_cli(*base, "--model-cases", 1, "--human-cases", 1, "--out", tmp_path / "p2",
                   "--key", tmp_path / "p2" / "key.json")
    assert done.returncode != 0 and "inside the packet folder" in done.stderr
    (tmp_path / "p3").mkdir()
    (tmp_path / "p3" / "old.txt").write_text("x")
    done = run_cli(*base, "--model-cases", 1, "--human-cases", 1, "--out", tmp_path / "p3")
    assert done.returncode != 0 and "is not empty" in done.stderr
    done = run_cli(*base, "--model-cases", 0, "--human-cases", 1, "--out", tmp_path / "p4")
    assert done.returncode != 0 and "--model-cases 0" in done.stderr
    done = run_cli(*base, "--model-cases", 1, "--human-cases", 1, "--out", tmp_path / "p5", "--split", "val")
    assert done.returncode != 0 and "val" in done.stderr
    bad = ["reader-study", "make", "--model", tmp_path / "missing.safetensors", "--manifest", manifest,
           "--seed", 1, "--quiet", "--model-cases", 1, "--human-cases", 1, "--out", tmp_path / "p6"]
    done = run_cli(*bad)
    assert done.returncode != 0 and "missing.safetensors" in done.stderr
    assert not (tmp_path / "p6").exists(), "a failed run leaves no packet folder behind"
