"""The run's logs: ``log.jsonl`` (every record), ``epochs.csv`` and ``steps.csv`` (the numbers, one row per
epoch / logged step), TensorBoard scalars (``--tensorboard``: ``RUN/tensorboard``), and the progress bar.

Only rank 0 writes (the other processes' ``RunLog`` is silent), so a run under torchrun has one of each.
Records are printed to stdout as JSON too (one line each), as before. The progress bar (tqdm, on stderr)
is shown only when stderr is a terminal: redirected to a log file, a run writes JSON lines and no bar
characters.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
from typing import Any, Iterable, TypeVar

__all__ = ["RunLog", "progress", "EPOCH_COLUMNS", "STEP_COLUMNS", "peak_rss_mb"]

T = TypeVar("T")

EPOCH_COLUMNS = ("time", "stage", "epoch", "steps", "train_loss", "val_loss", "val_cider_d", "val_macro_auc",
                 "select", "best", "lr", "images", "seconds")
STEP_COLUMNS = ("time", "stage", "epoch", "step", "loss", "lr")


def peak_rss_mb() -> float | None:
    """This process's peak resident set size (VmHWM) in MiB, None where /proc is absent."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class RunLog:
    """Writes the run's records; everything is a no-op when ``enabled`` is False (ranks other than 0)."""

    def __init__(self, out: str, enabled: bool = True, tensorboard: bool = False, echo: bool = True) -> None:
        self.out, self.enabled, self.echo = out, enabled, echo
        self._tb = None
        if enabled and tensorboard:
            from torch.utils.tensorboard import SummaryWriter
            self._tb = SummaryWriter(os.path.join(out, "tensorboard"))

    def _append_jsonl(self, record: dict) -> None:
        line = json.dumps({k: _clean(v) for k, v in record.items()}, ensure_ascii=False)
        if self.echo:
            print(line, flush=True)
        with open(os.path.join(self.out, "log.jsonl"), "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def _append_csv(self, name: str, columns: tuple[str, ...], record: dict) -> None:
        path = os.path.join(self.out, name)
        new = not os.path.exists(path)
        with open(path, "a", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            if new:
                writer.writerow(columns)
            writer.writerow(["" if _clean(record.get(c)) is None else record.get(c) for c in columns])

    def event(self, record: dict) -> None:
        """Any record (data counts, cache builds, stage ends): log.jsonl only."""
        if self.enabled:
            self._append_jsonl(record)

    def step(self, record: dict, global_step: int) -> None:
        """A logged optimizer step: stage, epoch, step, loss, lr."""
        if not self.enabled:
            return
        record = {"time": round(time.time(), 3), **record}
        self._append_jsonl({k: v for k, v in record.items() if k != "time"})
        self._append_csv("steps.csv", STEP_COLUMNS, record)
        if self._tb is not None:
            stage = record.get("stage")
            self._tb.add_scalar(f"stage{stage}/step_loss", record["loss"], global_step)
            if record.get("lr") is not None:
                self._tb.add_scalar(f"stage{stage}/lr", record["lr"], global_step)

    def epoch(self, record: dict, global_step: int) -> None:
        """An epoch's numbers (training and validation)."""
        if not self.enabled:
            return
        record = {"time": round(time.time(), 3), **record}
        self._append_jsonl({k: v for k, v in record.items() if k != "time"})
        self._append_csv("epochs.csv", EPOCH_COLUMNS, record)
        if self._tb is not None:
            stage = record.get("stage")
            for key in ("train_loss", "val_loss", "val_cider_d", "val_macro_auc", "lr"):
                if _clean(record.get(key)) is not None:
                    self._tb.add_scalar(f"stage{stage}/{key}", record[key], global_step)
            self._tb.flush()

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def progress(iterable: Iterable[T], total: int | None, desc: str, enabled: bool = True) -> Iterable[T]:
    """A tqdm bar over ``iterable`` on a terminal (and rank 0), the iterable itself otherwise."""
    if not (enabled and sys.stderr.isatty()):
        return iterable
    from tqdm import tqdm
    return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)
