"""Files of a run folder that must never be seen half-written, and the lock that keeps one training per folder.

Atomic writes: every checkpoint, JSON and array file of a run is written under a temporary name in the same
folder (``.NAME.PID.tmp``), flushed and fsync'ed, then renamed over the final name (``os.replace``, atomic on
POSIX filesystems), and the folder is fsync'ed so the rename survives a crash. A reader (``--resume``,
another rank, ``cxrcaption-evaluate``) therefore sees the previous complete file or the new complete file,
never a partial one; a write that fails removes its temporary file and leaves the previous file as it was.

The lock: ``RunLock`` holds an exclusive ``flock`` on ``RUN/lock`` for the life of the training process
(rank 0 under torchrun). A second training started into the same folder fails at once with an error naming
the process that holds it (pid, host, start time, command). The kernel releases the lock when the holder
exits, however it exits, so there are no stale locks to clean; the file stays, with the last holder's
details. (flock works across processes of one machine and, on Linux, on NFS v4; on other network
filesystems it may not exclude processes on other machines.)
"""

from __future__ import annotations

import datetime
import fcntl
import io
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any, BinaryIO, Callable

import torch

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "atomic_write_json", "atomic_save",
           "RunLock", "RunLockedError"]


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on a directory; the rename is still atomic
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then fsync and rename it to ``path``."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=1) + "\n")


def atomic_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save(obj, path)``, atomically."""
    atomic_write(path, lambda fh: torch.save(obj, fh))


class RunLockedError(RuntimeError):
    """The run folder is locked by another live training."""


class RunLock:
    """An exclusive lock on ``folder/lock`` (see the module docstring). Use as a context manager or call
    ``acquire`` / ``release``."""

    NAME = "lock"

    def __init__(self, folder: str | os.PathLike) -> None:
        self.path = Path(folder) / self.NAME
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            with io.open(fd, "r", encoding="utf-8", closefd=True) as fh:
                holder = fh.read().strip()
            try:
                info = json.loads(holder)
                who = (f"pid {info.get('pid')} on {info.get('host')} since {info.get('started')}: "
                       f"{info.get('command')}")
            except ValueError:
                who = holder or "a process that has not written its details yet"
            raise RunLockedError(f"{self.path.parent} is in use by another training ({who}); wait for it to "
                                 "end, or give another --out") from None
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                "command": " ".join(sys.argv)}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode("utf-8"), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
