r"""How fast this machine feeds the trainer, and what the caches cost on disk: numbers to size a run with.

    python -m cxrcaption_train.bench --dataset DATA [--format ...] [--size 256] [--workers 2] [--images 400]

Reads the first ``--images`` images of the dataset's train split (``--views`` as the trainer) through a
DataLoader with ``--workers`` worker processes and batch 16, three ways:

- ``stream``: each image decoded and preprocessed in a worker (``images.equalized_image`` + the model input),
  what ``--image-cache none`` does every epoch and what a first epoch does;
- ``cache build``: the same, written into the sharded on-disk cache (``--image-cache disk``);
- ``cache read``: the model inputs from that cache (every later epoch);

and prints images/s for each, the cache's bytes per image, and the frozen stem's feature bytes per image
(``--feature-cache disk``; for ``--config`` and ``--freeze``) computed from one forward pass. JSON on stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np
import torch
from torch.utils.data import DataLoader

from cxrcaption_ref.model import CaptionModel

from . import records as records_mod
from .dataset import ImageDataset, LabelSpec, build_split, collect_targets, equalized_cache, make_collate
from .train import PRESETS, split_stem


def _rate(loader: DataLoader) -> tuple[float, int]:
    t0, n = time.perf_counter(), 0
    for batch in loader:
        n += len(batch[0])
    return n / max(time.perf_counter() - t0, 1e-9), n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m cxrcaption_train.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--format", default="auto", choices=("auto",) + tuple(records_mod.FORMATS))
    ap.add_argument("--images-root", default=None)
    ap.add_argument("--views", choices=("frontal", "all"), default="frontal")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--images", type=int, default=400)
    ap.add_argument("--config", default="densenet121", choices=tuple(PRESETS))
    ap.add_argument("--freeze", default="denseblock2")
    ap.add_argument("--cache-dir", default=None, help="where to build the test cache (default: a temporary folder)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    recs = records_mod.read_dataset(a.dataset, a.format, images_root=a.images_root)
    kept, _ = records_mod.select_views(recs, a.views)
    pairs, _ = collect_targets([r for r in kept if r.split == "train"], "en", "impression")
    pairs = pairs[: a.images]
    if not pairs:
        raise SystemExit(f"{a.dataset}: no train images with a target")
    config = PRESETS[a.config].replace(input_size=a.size)
    data, _ = build_split("train", pairs, ["<pad>", "<start>", "<end>", "<nou>"], "en", 40, [], LabelSpec())
    out = {"images": len(data), "size": a.size, "workers": a.workers, "cpus": os.cpu_count(),
           "files": sorted({os.path.splitext(data.path(i))[1].lower() for i in range(len(data))})}

    def loader(ds):
        return DataLoader(ds, batch_size=16, num_workers=a.workers, collate_fn=make_collate(0))

    out["stream_images_per_s"], _ = _rate(loader(ImageDataset(data.paths, data.targets, a.size, config)))
    with tempfile.TemporaryDirectory(dir=a.cache_dir) as root:
        t0 = time.perf_counter()
        cache = equalized_cache(data.paths, a.size, root, workers=a.workers, batch=16)
        out["cache_build_images_per_s"] = len(data) / (time.perf_counter() - t0)
        out["cache_read_images_per_s"], _ = _rate(loader(ImageDataset(data.paths, data.targets, a.size, config,
                                                                      cache=cache)))
        out["image_cache_bytes_per_image"] = cache.item_bytes
    model = CaptionModel(config, 4).eval()
    stem, _ = split_stem(model, a.freeze)
    with torch.no_grad():
        shape = tuple(stem(torch.zeros(1, config.in_channels, a.size, a.size)).shape[1:]) if len(stem) else ()
    out["stem_feature_shape"] = list(shape)
    out["stem_feature_bytes_per_image"] = int(np.prod(shape)) * 2 if shape else 0  # float16
    print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in out.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
