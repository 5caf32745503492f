"""On-disk caches of per-image arrays (the equalized images; the frozen stem's features), written in shards.

A cache is a folder ``NAME-KEY/`` holding ``shardCHUNK-00000.bin``, ``shardCHUNK-00001.bin``, ... (raw
C-order arrays of ``CHUNK`` items each, the last one shorter) and ``meta.json`` (count, item shape, dtype,
chunk, the key).
Why this layout:

- constant memory: a shard is built in memory (16 MiB by default: ``--cache-shard-mb``), written, and dropped,
  so building a cache of any size needs the same RAM; reading uses ``os.pread`` of one item (not ``mmap``:
  mapped pages would count in the process's resident set and grow with the dataset; read pages stay in the
  kernel's page cache), with at most ``OPEN_SHARDS`` files open;
- atomic and resumable: each shard is written under a temporary name and renamed when complete
  (``checkpoints.atomic_write``), and ``meta.json`` is written last, once every shard is there: a cache
  with ``meta.json`` is complete; an interrupted build keeps its finished shards and builds only the
  missing ones next time;
- parallel: under torchrun, process r builds the shards k with k % world_size == r, into the same folder
  (which must then be one all processes see: one node, or a shared filesystem), and rank 0 writes
  ``meta.json`` after a barrier;
- keyed: the folder name carries a hash of what the content depends on (image paths and size and intake
  version for images; also the stem's weights and the precision for features), so a changed input makes a
  new cache instead of reusing a stale one. Images changed in place under the same path are not detected:
  delete the cache folder then.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from .checkpoints import atomic_write, atomic_write_json
from .distributed import Dist

__all__ = ["ShardedArray", "build_sharded", "cache_folder", "SHARD_BYTES"]

#: Default shard size: the memory a build holds at once (one shard's buffer), and the file size.
SHARD_BYTES = 16 << 20
#: Shard files a reader keeps open at once (least recently used closed first), well under the usual 1024.
OPEN_SHARDS = 32

#: fill(indices) yields (indices, values) batches covering ``indices`` in order; values [len, *item_shape]
Fill = Callable[[Sequence[int]], Iterator[tuple[Sequence[int], np.ndarray]]]


def cache_folder(root: str | os.PathLike, name: str, key: dict) -> Path:
    """``root/NAME-HASH``: HASH is the first 16 hex digits of the SHA-1 of the key's JSON."""
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return Path(root) / f"{name}-{digest}"


def _shard_path(folder: Path, chunk: int, k: int) -> Path:
    """Shard k of a cache of ``chunk`` items per shard (the chunk is in the name: a rebuild with another
    shard size never mistakes the old files for its own)."""
    return folder / f"shard{chunk}-{k:05d}.bin"


class ShardedArray:
    """A complete cache folder opened for reading: ``len``, ``array[i]`` (a new numpy array), and the
    per-item size in bytes. Safe to use from DataLoader workers (files are opened lazily in each process;
    ``pread`` does not move a shared file offset)."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        meta_path = self.folder / "meta.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"{self.folder} is not a complete cache (no meta.json)")
        meta = json.loads(meta_path.read_text())
        self.meta = meta
        self.count = int(meta["count"])
        self.item_shape = tuple(int(s) for s in meta["item_shape"])
        self.dtype = np.dtype(meta["dtype"])
        self.chunk = int(meta["chunk"])
        self.item_bytes = int(np.prod(self.item_shape, dtype=np.int64)) * self.dtype.itemsize
        self._fds: dict[int, int] = {}
        self._pid = os.getpid()

    def __len__(self) -> int:
        return self.count

    def _fd(self, shard: int) -> int:
        if self._pid != os.getpid():  # a forked worker: its own descriptors
            self._fds, self._pid = {}, os.getpid()
        fd = self._fds.pop(shard, None)
        if fd is None:
            if len(self._fds) >= OPEN_SHARDS:
                os.close(self._fds.pop(next(iter(self._fds))))  # the least recently used
            fd = os.open(_shard_path(self.folder, self.chunk, shard), os.O_RDONLY)
        self._fds[shard] = fd  # (re)inserted last: dicts keep insertion order
        return fd

    def __getitem__(self, i: int) -> np.ndarray:
        if not 0 <= i < self.count:
            raise IndexError(f"index {i} outside the cache's {self.count} items ({self.folder})")
        shard, offset = divmod(int(i), self.chunk)
        data = os.pread(self._fd(shard), self.item_bytes, offset * self.item_bytes)
        if len(data) != self.item_bytes:
            raise OSError(f"{_shard_path(self.folder, self.chunk, shard)}: short read at item {offset} "
                          f"({len(data)} of {self.item_bytes} bytes): the cache file was truncated")
        return np.frombuffer(data, dtype=self.dtype).reshape(self.item_shape).copy()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_fds"] = {}
        return state

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}

    def __del__(self) -> None:
        try:
            if self._pid == os.getpid():
                self.close()
        except Exception:
            pass


def build_sharded(folder: str | os.PathLike, key: dict, count: int, item_shape: Sequence[int], dtype,
                  fill: Fill, env: Dist, log: Callable[[dict], None] | None = None,
                  shard_bytes: int = SHARD_BYTES) -> ShardedArray:
    """Open the cache at ``folder``, building its missing shards first (see the module docstring).

    All processes must call it (it has barriers). ``fill`` computes items; it is called with this process's
    missing indices only, and must be deterministic (a shard may be rebuilt by any process)."""
    folder = Path(folder)
    dtype = np.dtype(dtype)
    item_shape = tuple(int(s) for s in item_shape)
    item_bytes = int(np.prod(item_shape, dtype=np.int64)) * dtype.itemsize
    chunk = max(1, shard_bytes // max(1, item_bytes))
    meta = {"count": int(count), "item_shape": list(item_shape), "dtype": dtype.str, "chunk": chunk, "key": key}
    meta_path = folder / "meta.json"
    if meta_path.is_file() and json.loads(meta_path.read_text()) == meta:
        return ShardedArray(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shards = math.ceil(count / chunk)
    mine = [k for k in range(shards)
            if k % env.world_size == env.rank and not _shard_path(folder, chunk, k).is_file()]
    indices = [i for k in mine for i in range(k * chunk, min(count, (k + 1) * chunk))]
    if indices:
        buffers: dict[int, np.ndarray] = {}
        filled: dict[int, int] = {}
        done = 0
        for batch_indices, values in fill(indices):
            values = np.asarray(values)
            if values.shape[1:] != item_shape or values.dtype != dtype:
                raise ValueError(f"cache {folder.name}: fill gave items {values.shape[1:]} {values.dtype}, "
                                 f"expected {item_shape} {dtype}")
            for i, value in zip(batch_indices, values):
                k = int(i) // chunk
                if k not in buffers:
                    buffers[k] = np.empty((min(count, (k + 1) * chunk) - k * chunk,) + item_shape, dtype)
                    filled[k] = 0
                buffers[k][int(i) - k * chunk] = value
                filled[k] += 1
                if filled[k] == len(buffers[k]):
                    data = buffers.pop(k)
                    atomic_write(_shard_path(folder, chunk, k), lambda fh, d=data: fh.write(memoryview(d)))
                    done += 1
                    if log is not None:
                        log({"event": "cache_shard", "cache": folder.name, "shard": k, "items": len(data),
                             "written_by_rank": env.rank, "shards_done_here": done, "shards_here": len(mine)})
        if buffers:
            raise RuntimeError(f"cache {folder.name}: fill left shards {sorted(buffers)} incomplete")
    env.barrier()
    if env.is_main:
        missing = [k for k in range(shards) if not _shard_path(folder, chunk, k).is_file()]
        if missing:
            raise RuntimeError(f"cache {folder}: shards {missing[:10]} are missing after every process built its "
                               "share (is the cache folder on a filesystem all processes see?)")
        for k in range(shards):
            expected = (min(count, (k + 1) * chunk) - k * chunk) * item_bytes
            size = _shard_path(folder, chunk, k).stat().st_size
            if size != expected:
                raise RuntimeError(f"{_shard_path(folder, chunk, k)}: {size} bytes, expected {expected}")
        atomic_write_json(meta_path, meta)
    env.barrier()
    return ShardedArray(folder)
