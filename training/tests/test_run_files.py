"""Run-folder machinery: atomic checkpoint writes, the lock, learning-rate schedules, sharded on-disk caches,
the logs (CSV, TensorBoard, no progress bar when not on a terminal), the recorded seeds."""
import csv
import json
import os

import numpy as np
import pytest
import torch

from cxrcaption_train import checkpoints
from cxrcaption_train import train as T
from cxrcaption_train.caches import ShardedArray, build_sharded
from cxrcaption_train.checkpoints import RunLock, RunLockedError, atomic_save
from cxrcaption_train.distributed import Dist
from cxrcaption_train.schedules import Schedule

from .helpers import write_tiny_manifest


def test_a_checkpoint_is_never_seen_half_written(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    atomic_save({"v": 1}, path)
    real_save = torch.save
    written_to = []

    def observing_save(obj, f, *args, **kwargs):
        # while the new checkpoint is written, the final name still holds the previous, complete one
        written_to.append(f.name)
        assert os.path.abspath(f.name) != str(path)
        real_save(obj, f, *args, **kwargs)
        f.flush()
        assert torch.load(path, weights_only=False) == {"v": 1}

    monkeypatch.setattr(torch, "save", observing_save)
    atomic_save({"v": 2}, path)
    assert torch.load(path, weights_only=False) == {"v": 2}
    assert len(written_to) == 1 and os.path.dirname(written_to[0]) == str(tmp_path)  # beside it: same filesystem
    assert sorted(os.listdir(tmp_path)) == ["last.pt"]  # the temporary name is gone

    def failing_save(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="No space left"):
        atomic_save({"v": 3}, path)
    assert torch.load(path, weights_only=False) == {"v": 2}
    assert sorted(os.listdir(tmp_path)) == ["last.pt"]


def test_the_trainer_writes_every_checkpoint_and_the_export_by_rename(tmp_path, monkeypatch):
    renamed = []
    real_replace = os.replace

    def recording_replace(src, dst):
        renamed.append((os.fspath(src), os.fspath(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(checkpoints.os, "replace", recording_replace)
    import cxrcaption_ref.export as export_module
    monkeypatch.setattr(export_module.os, "replace", recording_replace)
    manifest = write_tiny_manifest(tmp_path / "data")
    out = tmp_path / "run"
    T.main(["--smoke", "--manifest", manifest, "--out", str(out), "--epochs1", "1", "--epochs2", "1",
            "--image-cache", "none"])
    targets = {os.path.basename(dst) for src, dst in renamed}
    assert {"last.pt", "best_stage1.pt", "best_stage2.pt", "model.safetensors", "vocab.json", "seeds.json",
            "run.json"} <= targets
    for src, dst in renamed:
        assert os.path.dirname(src) == os.path.dirname(dst) and os.path.basename(src).endswith(".tmp")
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]


def test_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
    first = RunLock(tmp_path).acquire()
    try:
        with pytest.raises(RunLockedError, match=rf"in use by another training \(pid {os.getpid()} on "):
            RunLock(tmp_path).acquire()
    finally:
        first.release()
    with RunLock(tmp_path):  # released: free again
        pass


def test_schedule_values():
    assert [Schedule("constant").factor(s) for s in (0, 5, 1000)] == [1.0, 1.0, 1.0]
    warm = Schedule("constant", warmup_steps=4)
    assert [warm.factor(s) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    step = Schedule("step", step_size=3, gamma=0.5)
    assert [step.factor(s) for s in range(8)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]
    cos = Schedule("cosine", total_steps=10, warmup_steps=2, min_factor=0.1)
    assert cos.factor(0) == 0.5 and cos.factor(1) == 1.0
    assert cos.factor(2) == pytest.approx(1.0)
    assert cos.factor(6) == pytest.approx(0.1 + 0.9 * 0.5)        # halfway through the decay
    assert cos.factor(10) == pytest.approx(0.1) and cos.factor(50) == pytest.approx(0.1)
    values = [cos.factor(s) for s in range(2, 11)]
    assert all(a >= b for a, b in zip(values, values[1:]))
    with pytest.raises(ValueError, match="schedule must be one of"):
        Schedule("linear")
    opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": 1.0},
                           {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.1}], lr=1.0)
    assert Schedule("step", step_size=2, gamma=0.1).apply(opt, [1.0, 0.1], 2) == pytest.approx(0.1)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.1, 0.01])


def test_trainer_follows_the_schedule(tmp_path):
    manifest = write_tiny_manifest(tmp_path / "data")
    out = tmp_path / "sched"
    T.main(["--smoke", "--manifest", manifest, "--out", str(out), "--stages", "1", "--epochs1", "2",
            "--image-cache", "none", "--no-export", "--schedule", "cosine", "--warmup-steps", "2",
            "--lr-stage1", "1e-2", "--log-every", "1", "--batch-size", "4"])
    lrs = [r["lr"] for r in map(json.loads, open(out / "log.jsonl")) if "loss" in r and "step" in r]
    expected = Schedule("cosine", total_steps=6, warmup_steps=2)
    assert lrs == pytest.approx([1e-2 * expected.factor(s) for s in range(6)])


def _fill_counting(calls, fail_after=None):
    def fill(indices):
        for i in indices:
            if fail_after is not None and len(calls) >= fail_after:
                raise KeyboardInterrupt("stopped")
            calls.append(i)
            yield [i], np.full((1, 3, 2), i, dtype=np.int16)
    return fill


def test_sharded_cache_is_complete_only_when_written_and_resumes(tmp_path):
    folder = tmp_path / "c"
    item_bytes = 3 * 2 * 2
    calls = []
    with pytest.raises(KeyboardInterrupt):  # interrupted during the third shard
        build_sharded(folder, {"k": 1}, 10, (3, 2), np.int16, _fill_counting(calls, fail_after=9), Dist(),
                      shard_bytes=4 * item_bytes)
    assert not (folder / "meta.json").exists()
    with pytest.raises(FileNotFoundError, match="not a complete cache"):
        ShardedArray(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["shard4-00000.bin", "shard4-00001.bin"]
    calls.clear()
    cache = build_sharded(folder, {"k": 1}, 10, (3, 2), np.int16, _fill_counting(calls), Dist(),
                          shard_bytes=4 * item_bytes)
    assert calls == [8, 9]  # only the missing shard was computed
    assert len(cache) == 10 and cache.chunk == 4 and cache.item_bytes == item_bytes
    for i in range(10):
        assert np.array_equal(cache[i], np.full((3, 2), i, dtype=np.int16))
    with pytest.raises(IndexError):
        cache[10]
    calls.clear()
    assert len(build_sharded(folder, {"k": 1}, 10, (3, 2), np.int16, _fill_counting(calls), Dist(),
                             shard_bytes=4 * item_bytes)) == 10
    assert calls == []  # complete: nothing recomputed
    (folder / "shard4-00001.bin").write_bytes(b"short")
    with pytest.raises(OSError, match="short read"):
        ShardedArray(folder)[5]


def test_a_cache_of_many_shards_keeps_few_files_open(tmp_path):
    from cxrcaption_train.caches import OPEN_SHARDS
    count = OPEN_SHARDS + 8
    cache = build_sharded(tmp_path / "many", {"k": 2}, count, (3, 2), np.int16, _fill_counting([]), Dist(),
                          shard_bytes=1)  # one item per shard
    assert len([p for p in (tmp_path / "many").iterdir() if p.suffix == ".bin"]) == count
    for _ in range(2):
        for i in range(count):
            assert cache[i][0, 0] == i
            assert len(cache._fds) <= OPEN_SHARDS


def test_logs_seeds_tensorboard_and_no_progress_bar_off_a_terminal(tmp_path, capfd):
    manifest = write_tiny_manifest(tmp_path / "data")
    out = tmp_path / "logs"
    T.main(["--smoke", "--manifest", manifest, "--out", str(out), "--epochs1", "2", "--epochs2", "1",
            "--image-cache", "none", "--no-export", "--tensorboard", "--log-every", "1", "--seed", "7"])
    captured = capfd.readouterr()
    assert "\r" not in captured.err and "it/s" not in captured.err  # stderr is not a terminal here: no bar
    rows = list(csv.DictReader(open(out / "epochs.csv")))
    assert [(r["stage"], r["epoch"]) for r in rows] == [("1", "0"), ("1", "1"), ("2", "0")]
    assert all(float(r["train_loss"]) > 0 and float(r["val_loss"]) > 0 for r in rows)
    steps = list(csv.DictReader(open(out / "steps.csv")))
    assert len(steps) == int(rows[-1]["steps"]) + int(rows[1]["steps"])
    events = [n for n in os.listdir(out / "tensorboard") if n.startswith("events.out.tfevents")]
    assert events and os.path.getsize(out / "tensorboard" / events[0]) > 0
    seeds = json.load(open(out / "seeds.json"))
    assert seeds["seed"] == 7 and seeds["per_rank"] == [{"rank": 0, "python": 7, "numpy": 7, "torch": 7,
                                                         "dataloader_generator": 7}]
    run = json.load(open(out / "run.json"))
    assert run["world_size"] == 1 and run["args"]["seed"] == 7 and run["device"] == "cpu"
