"""Several processes (torchrun, gloo, CPU) train exactly as one process with the global batch; one run folder,
one log, one export; --resume under torchrun; the lock that keeps two trainings out of one folder; devices.

Tolerances of the equality test, and why:
- step losses: relative 1e-6 (about 8 float32 ulps). The two runs add the same float32 terms in another
  order (each rank's partial sums, then a float64 sum over ranks, against one float32 sum over the 4-image
  batch), BatchNorm's statistics are float64 sums over ranks against float32 ones, and DDP averages the two
  ranks' gradients where one process sums once: each step differs by rounding (observed: <= 2.3e-7 absolute,
  under 1e-7 relative). The faults this test is for are far larger: per-rank BatchNorm statistics moved the
  step losses by 6e-4 to 4e-3, and a per-rank mean token loss weighs tokens differently per batch.
- validation numbers (computed after the last update): relative 1e-4. Adam divides each gradient component
  by its own magnitude, so components at rounding level (a ReLU-dead channel's gradient, ~1e-10) become
  updates of up to the learning rate whose sign is decided by rounding; one such norm0 scale moved by 9e-5
  here and the validation loss by 5e-6 relative, while per-rank BatchNorm moved it by 7e-3.
"""
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from cxrcaption_ref.export import load_model
from cxrcaption_train import train as T
from cxrcaption_train.distributed import Dist, resolve_device, shard

from .helpers import write_tiny_manifest

STEP_RTOL = 1e-6
VAL_RTOL = 1e-4


def _torchrun(args, timeout=120):
    """Two local processes under torchrun (--standalone: a free port of its own choosing)."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "cxrcaption_train.train", *map(str, args)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, f"torchrun failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return done


def _log(folder):
    return [json.loads(line) for line in open(os.path.join(folder, "log.jsonl"))]


def _steps(folder, stage):
    return [r for r in _log(folder) if r.get("stage") == stage and "loss" in r and "step" in r]


def _epochs(folder, stage):
    return [r for r in _log(folder) if r.get("stage") == stage and "train_loss" in r]


def _rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Stage 1 in one process (batch 4) and in two (batch 2 each); then stage 2 of both resumed from the same
    stage-1 checkpoint (the one-process run's), so the two stage-2 runs start from identical weights."""
    root = tmp_path_factory.mktemp("ddp")
    data = root / "data"
    data.mkdir()
    manifest = write_tiny_manifest(data, counts=(12, 5, 3))  # 5 validation images: shards of 3 and 2
    common = ["--manifest", manifest, "--config", "tiny", "--epochs1", "1", "--epochs2", "1", "--dropout", "0",
              "--log-every", "1", "--threads", "1", "--dtype", "f32", "--patience", "9", "--image-cache", "disk",
              "--feature-cache", "disk", "--label-weight", "0.5", "--cache-shard-mb", "0.01"]  # 2-image shards
    runs_dir = root / "runs"
    single1, ddp1 = runs_dir / "single1", runs_dir / "ddp1"
    T.main(common + ["--stages", "1", "--out", str(single1), "--batch-size", "4"])
    t0 = time.time()
    _torchrun(common + ["--stages", "1", "--out", ddp1, "--batch-size", "2"])
    stage1_seconds = time.time() - t0
    single2, ddp2 = runs_dir / "single2", runs_dir / "ddp2"
    for folder in (single2, ddp2):
        os.makedirs(folder)
        for name in ("last.pt", "best_stage1.pt", "vocab.json"):
            shutil.copy(single1 / name, folder / name)
    # a high decoder rate: after 3 steps the greedy captions already differ per study (CIDEr-D > 0)
    stage2 = ["--resume", "--lr-decoder", "3e-2"]
    T.main(common + stage2 + ["--out", str(single2), "--batch-size", "4"])
    _torchrun(common + stage2 + ["--out", ddp2, "--batch-size", "2"])
    print(f"torchrun stage-1 run: {stage1_seconds:.1f} s")
    return {"root": runs_dir, "single1": single1, "ddp1": ddp1, "single2": single2, "ddp2": ddp2}


def _compare(single, ddp, stage):
    a, b = _steps(single, stage), _steps(ddp, stage)
    assert [r["step"] for r in a] == [1, 2, 3] and [r["step"] for r in b] == [1, 2, 3], (a, b)
    step_diff = max(abs(x["loss"] - y["loss"]) for x, y in zip(a, b))
    step_rel = max(_rel(x["loss"], y["loss"]) for x, y in zip(a, b))
    ea, eb = _epochs(single, stage), _epochs(ddp, stage)
    assert len(ea) == len(eb) == 1
    keys = [k for k in ("train_loss", "val_loss", "val_macro_auc", "val_cider_d") if ea[0].get(k) is not None]
    val_rel = {k: _rel(ea[0][k], eb[0][k]) for k in keys}
    print(f"stage {stage}: step losses max |diff| {step_diff:.3g} (relative {step_rel:.3g}); "
          f"epoch numbers relative {val_rel}")
    assert step_rel <= STEP_RTOL, (a, b)
    for k, r in val_rel.items():
        assert r <= VAL_RTOL, (k, ea[0][k], eb[0][k])
    assert ea[0]["images"] == eb[0]["images"] == 12  # every training image once, over the two ranks together
    return keys


def test_two_processes_follow_the_one_process_path_in_stage_1(runs):
    keys = _compare(runs["single1"], runs["ddp1"], 1)
    assert {"val_loss", "val_macro_auc"} <= set(keys)


def test_two_processes_follow_the_one_process_path_in_stage_2_after_resume(runs):
    keys = _compare(runs["single2"], runs["ddp2"], 2)
    assert {"val_loss", "val_cider_d"} <= set(keys)
    # CIDEr-D of the 5 studies' captions, gathered from both ranks (3 + 2): a rank scoring only its own
    # shard, or a caption lost in the gathering, would change it
    single, ddp = _epochs(runs["single2"], 2)[0], _epochs(runs["ddp2"], 2)[0]
    assert single["val_cider_d"] > 0 and single["val_studies_decoded"] == ddp["val_studies_decoded"] == 5
    # the resumed runs did not train stage 1 again, and both ranks continued from the same checkpoint
    assert not _steps(runs["ddp2"], 1) and not _epochs(runs["ddp2"], 1)


def test_one_run_folder_one_log_one_export(runs):
    assert sorted(os.listdir(runs["root"])) == ["ddp1", "ddp2", "single1", "single2"]
    for folder in (runs["ddp1"], runs["ddp2"]):
        names = sorted(os.listdir(folder))
        assert [n for n in names if n.endswith(".jsonl")] == ["log.jsonl"], names
        assert [n for n in names if n.endswith(".safetensors")] == ["model.safetensors"], names
        assert not [n for n in names if "rank" in n or n.endswith(".tmp")], names
        log = _log(folder)
        for kind in ("data", "exported"):
            assert sum(r.get("event") == kind for r in log) == 1, kind  # written once, by rank 0
        load_model(folder / "model.safetensors")
    # the two ranks built one cache together (shards of one folder), not one each: rank 0 (whose records
    # are logged) wrote the even shards of the 12 training images (6 shards of 2), rank 1 the odd ones
    caches = sorted(os.listdir(runs["ddp1"] / "cache"))
    assert len([c for c in caches if c.startswith("equalized-64-")]) == 2, caches  # train and val
    log = _log(runs["ddp1"])
    train_cache = next(r["folder"] for r in log if r.get("event") == "image_cache" and r["split"] == "train")
    shards = [r for r in log if r.get("event") == "cache_shard" and r["cache"] == os.path.basename(train_cache)]
    assert [r["shard"] for r in shards] == [0, 2, 4] and all(r["shards_here"] == 3 for r in shards)
    assert len([n for n in os.listdir(train_cache) if n.endswith(".bin")]) == 6


def test_a_second_training_into_a_locked_folder_fails_naming_the_first(tmp_path):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from cxrcaption_train.checkpoints import RunLock; "
                               "RunLock(sys.argv[1]).acquire(); print('locked', flush=True); time.sleep(120)",
         str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        manifest = write_tiny_manifest(tmp_path / "data")
        with pytest.raises(SystemExit, match=rf"is in use by another training \(pid {holder.pid} on "):
            T.main(["--smoke", "--manifest", manifest, "--out", str(out), "--no-export"])
        assert not (out / "log.jsonl").exists()
    finally:
        holder.kill()
        holder.wait()
    # the lock goes with its holder: the folder is usable again at once
    T.main(["--smoke", "--manifest", manifest, "--out", str(out), "--no-export", "--stages", "1",
            "--epochs1", "1", "--image-cache", "none"])
    assert (out / "last.pt").exists()


def test_shards_cover_every_index_once_without_padding():
    indices = list(range(7))
    parts = [shard(indices, Dist(rank=r, world_size=3)) for r in range(3)]
    assert parts == [[0, 3, 6], [1, 4], [2, 5]]
    assert sorted(i for p in parts for i in p) == indices


def test_devices(tmp_path):
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == (torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu"))
    with pytest.raises(SystemExit, match="expected auto, cpu, cuda or cuda:N"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit, match="sees no CUDA device"):
            resolve_device("cuda:0")
    with pytest.raises(SystemExit, match="fp16 needs a CUDA device"):
        T.main(["--manifest", str(tmp_path / "unused.jsonl"), "--out", str(tmp_path / "run"), "--device", "cpu",
                "--precision", "fp16"])
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_bf16_autocast_trains_on_the_cpu(tmp_path):
    manifest = write_tiny_manifest(tmp_path / "data")
    out = tmp_path / "bf16"
    T.main(["--smoke", "--manifest", manifest, "--out", str(out), "--precision", "bf16", "--device", "cpu",
            "--epochs1", "1", "--epochs2", "1", "--image-cache", "none", "--feature-cache", "none"])
    epochs = [r for r in _log(out) if "train_loss" in r]
    assert len(epochs) == 2 and all(np.isfinite(r["train_loss"]) and np.isfinite(r["val_loss"]) for r in epochs)
    load_model(out / "model.safetensors")
