"""The Python half of training/scripts/parity_full.py, driven with a stand-in for the Swift test tool
(fake_parity_cli.py) built on the reference itself."""

import importlib.util
import shlex
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SCRIPT = TESTS.parent / "scripts" / "parity_full.py"
FAKE = TESTS / "fake_parity_cli.py"
IMAGES = TESTS.parents[1].parent / "shared" / "data" / "real-cxr"

pytestmark = pytest.mark.skipif(not IMAGES.is_dir(), reason=f"no real images at {IMAGES}")


def load_script():
    spec = importlib.util.spec_from_file_location("parity_full", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fake_tool(tmp_path_factory):
    """An executable that runs fake_parity_cli.py with this test run's Python (no interpreter path in the
    file itself, so it works on any machine and in any virtualenv)."""
    tool = tmp_path_factory.mktemp("tool") / "cxrcaption-test-tool"
    tool.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(FAKE))} "$@"\n')
    tool.chmod(0o755)
    return tool


def run(capsys, monkeypatch, tool, work, env=None, extra=(), limit=3):
    """The script on the stand-in tool, its files in `work` (pytest's tmp_path: without --keep the script
    leaves its temporary folder behind)."""
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    code = load_script().main(["--tool", str(tool), "--small", "--limit", str(limit), "--vocab-size", "40",
                               "--keep", str(work), *extra])
    return code, capsys.readouterr().out


def test_passes_when_the_tool_agrees(capsys, monkeypatch, tmp_path, fake_tool):
    code, out = run(capsys, monkeypatch, fake_tool, tmp_path)
    assert code == 0, out
    assert "summary: 3 images" in out and "PASS" in out
    assert (tmp_path / "parity-f32.safetensors").exists()


def test_fails_on_feature_error(capsys, monkeypatch, tmp_path, fake_tool):
    code, out = run(capsys, monkeypatch, fake_tool, tmp_path, {"FAKE_PARITY_NOISE": "0.01"}, limit=1)
    assert code == 1 and "FAIL" in out


def test_fails_on_different_sequences(capsys, monkeypatch, tmp_path, fake_tool):
    code, out = run(capsys, monkeypatch, fake_tool, tmp_path, {"FAKE_PARITY_DROP": "1"}, limit=1)
    assert code == 1 and " NO " in out


def test_missing_tool_is_exit_2(tmp_path):
    assert load_script().main(["--tool", str(tmp_path / "nope"), "--small"]) == 2


def test_reads_every_kind_of_image():
    module = load_script()
    for path in module.find_images(IMAGES):
        try:
            image, how = module.read_image(path, 64)
        except Exception as error:  # the script skips these too; only DICOM decoders may be missing
            assert path.suffix == ".dcm", f"{path}: {error}"
            continue
        assert image.shape == (64, 64) and image.dtype.name == "uint8", path


def test_tool_without_parity_subcommand_is_exit_2(tmp_path):
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\necho 'USAGE: cxrcaption <subcommand>'\nexit 0\n")
    tool.chmod(0o755)
    assert load_script().main(["--tool", str(tool), "--small"]) == 2
