"""`cxrcaption-cli caption --json` with the tiny Chinese model of Tests/CXRKitTests/Fixtures/zh (jieba tokens,
join ""; see README.md there): the JSON it prints is UTF-8 and carries, for every fixture phantom, the
PyTorch reference's token ids and Chinese text recorded in expected.json.

Needs: pytest; the CLI binary (env CXRCAPTION_CLI, else `swift build --show-bin-path`).

    python -m pytest Tests/python/test_chinese_cli.py -v
"""

import json
import re
import subprocess
from pathlib import Path

from cli_support import cli_path

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "Tests" / "CXRKitTests" / "Fixtures" / "zh"
CHINESE = re.compile(r"^[\u4e00-\u9fff，。、；：]+$")


def test_cli_json_carries_the_reference_chinese_text():
    expected = json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))
    beam = expected["beam"]
    images = [FIXTURE / image["file"] for image in expected["images"]]
    run = subprocess.run([cli_path(), "caption", "--model", str(FIXTURE / expected["model"]), "--json", "--quiet",
                          "--beam", str(beam["beam_width"]), "--results", str(beam["max_results"]),
                          "--max-tokens", str(beam["max_tokens"]), "--threads", "1", *map(str, images)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    out = json.loads(run.stdout.decode("utf-8"))  # strict: invalid UTF-8 raises
    assert len(out) == len(images)
    for item, image in zip(out, expected["images"]):
        assert item["error"] is None, item
        assert Path(item["image"]).name == image["file"]
        got = [(r["tokens"], r["text"]) for r in item["results"]]
        want = [(r["tokens"], r["text"]) for r in image["results"]]
        assert got == want, (image["file"], got, want)
        for r in item["results"]:
            assert CHINESE.match(r["text"]), r["text"]
            # written as UTF-8 characters, not \u escapes
            assert r["text"].encode("utf-8") in run.stdout
    tops = {frozenset(image["findings"]): item["results"][0]["text"] for item, image in zip(out, expected["images"])}
    assert len(set(tops.values())) == len(tops) >= 3, tops
