"""Devices and multi-process training: one process per device, launched by ``torchrun`` (or plainly: one process).

The trainer runs the same code with one process or many. Under ``torchrun`` (which sets ``WORLD_SIZE``,
``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT`` or a rendezvous) with ``WORLD_SIZE`` > 1, every
process joins one process group: NCCL when it trains on a GPU, gloo on the CPU. Without those variables (a
plain ``python -m cxrcaption_train.train``) there is one process and no process group; every helper here is
then a no-op that returns its input.

What the trainer relies on:

- ``Dist.sum`` adds numbers over the processes (float64), for losses that are normalized by the *global*
  count of tokens / labels, so that N processes with batch B compute the gradient of the same loss as one
  process with batch N x B;
- ``Dist.gather`` gives every process the list of every process's object (validation texts, scores), so
  metrics are computed once on the whole validation set, the same way everywhere, and every process takes
  the same early-stopping decision;
- ``shard`` splits validation indices without padding (``DistributedSampler`` repeats samples to even the
  shards, which would count them twice);
- ``sync_batchnorm``: batch statistics over the global batch (``nn.SyncBatchNorm`` on GPUs; on the CPU, where
  PyTorch has none, ``DistributedBatchNorm2d`` here), so BatchNorm sees the same batch as one process would.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.distributed as dist
import torch.nn as nn

__all__ = ["Dist", "resolve_device", "init_distributed", "shard", "DistributedBatchNorm2d", "sync_batchnorm",
           "all_reduce_sum_autograd"]


def resolve_device(spec: str, local_rank: int = 0, local_world_size: int = 1) -> torch.device:
    """``--device auto|cpu|cuda|cuda:N`` -> a torch device.

    auto: the GPU when CUDA is available, else the CPU. Under torchrun each process uses
    ``cuda:LOCAL_RANK`` ("cuda" and "auto" mean that); an explicit ``cuda:N`` is accepted only with one
    process per node (several processes on one GPU are refused)."""
    spec = spec.strip().lower()
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise SystemExit(f"--device {spec}: this PyTorch sees no CUDA device (torch.cuda.is_available() is "
                             "False); use --device cpu")
        count = torch.cuda.device_count()
        if spec == "cuda":
            index = local_rank
        else:
            try:
                index = int(spec.split(":", 1)[1])
            except ValueError:
                raise SystemExit(f"--device {spec}: expected cuda:N with N a device number") from None
            if local_world_size > 1:
                raise SystemExit(f"--device {spec}: {local_world_size} processes on this node would share one "
                                 "GPU; under torchrun give --device cuda (each process takes cuda:LOCAL_RANK)")
        if not 0 <= index < count:
            raise SystemExit(f"--device {spec}: device cuda:{index} does not exist ({count} visible; "
                             "CUDA_VISIBLE_DEVICES narrows the list)")
        return torch.device("cuda", index)
    raise SystemExit(f"--device {spec}: expected auto, cpu, cuda or cuda:N")


@dataclass(frozen=True)
class Dist:
    """This process's place in the run: rank, world size, local rank, device, backend (None: one process)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes checkpoints, logs and the export."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.backend is not None

    def _tensor_device(self) -> torch.device:
        return self.device if self.backend == "nccl" else torch.device("cpu")

    def sum(self, values: Sequence[float]) -> list[float]:
        """Element-wise sum over all processes (float64); the values themselves with one process."""
        if not self.distributed:
            return [float(v) for v in values]
        t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=self._tensor_device())
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.tolist()

    def any(self, flag: bool) -> bool:
        """True on every process when it is True on any (a stop decision all processes must share)."""
        return self.sum([1.0 if flag else 0.0])[0] > 0

    def gather(self, obj: Any) -> list[Any]:
        """Every process's ``obj``, in rank order, on every process."""
        if not self.distributed:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any, src: int = 0) -> Any:
        """Rank ``src``'s ``obj`` on every process."""
        if not self.distributed:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=src)
        return box[0]

    def barrier(self) -> None:
        if not self.distributed:
            return
        if self.backend == "nccl":
            dist.barrier(device_ids=[self.device.index])
        else:
            dist.barrier()

    def close(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()


def init_distributed(device_spec: str = "auto", timeout_minutes: float = 60.0) -> Dist:
    """Join the process group when launched by torchrun with WORLD_SIZE > 1, else a one-process ``Dist``.

    The timeout bounds how long a collective waits for the slowest process (building a cache shard, a
    validation pass); 60 minutes by default."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    device = resolve_device(device_spec, local_rank, local_world)
    if world <= 1:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        return Dist(device=device)
    missing = [v for v in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
    if missing:
        raise SystemExit(f"WORLD_SIZE={world} but {', '.join(missing)} unset: launch several processes with "
                         "torchrun (it sets them), or unset WORLD_SIZE for one process")
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    kwargs = {"device_id": device} if backend == "nccl" else {}
    dist.init_process_group(backend, timeout=datetime.timedelta(minutes=timeout_minutes), **kwargs)
    return Dist(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local_rank, device=device,
                backend=backend)


def shard(indices: Sequence[int], env: Dist) -> list[int]:
    """This process's share of ``indices`` (every world_size-th, from its rank): no index twice, none left
    out, shards differing in size by at most one."""
    return list(indices[env.rank::env.world_size])


class _AllReduceSum(torch.autograd.Function):
    """Sum over processes whose gradient is the sum of the processes' gradients (each process's loss depends
    on every process's contribution)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        y = x.clone()
        dist.all_reduce(y, op=dist.ReduceOp.SUM)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        grad = grad.clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad


def all_reduce_sum_autograd(x: torch.Tensor) -> torch.Tensor:
    """``x`` summed over processes, differentiable (identity without a process group)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    return _AllReduceSum.apply(x)


class DistributedBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training-mode statistics are those of the global batch (all processes), for the
    gloo/CPU backend (``nn.SyncBatchNorm`` accepts GPU tensors only). Two passes: the global mean, then the
    global mean squared deviation, both summed over processes in float64; the running statistics are updated
    as ``nn.BatchNorm2d`` does (unbiased variance). Eval mode, and one process, are ``nn.BatchNorm2d``'s own
    path. Same parameters and buffers, same state-dict names."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
            return super().forward(x)
        if x.dim() != 4:
            raise ValueError(f"expected 4D input (got {x.dim()}D input)")
        channels = x.shape[1]
        dims = (0, 2, 3)
        local_count = x.numel() // channels
        first = all_reduce_sum_autograd(torch.cat([x.double().sum(dims), x.new_full((1,), local_count,
                                                                                     dtype=torch.float64)]))
        count = first[-1]
        if float(count) <= 1:
            raise ValueError(f"expected more than 1 value per channel when training, got {int(count)}")
        mean = first[:channels] / count
        centered = x.double() - mean[None, :, None, None]
        var = all_reduce_sum_autograd((centered * centered).sum(dims)) / count
        y = (centered * torch.rsqrt(var + self.eps)[None, :, None, None]).to(x.dtype)
        if self.affine:
            y = y * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = (1.0 / float(self.num_batches_tracked)) if self.momentum is None else self.momentum
                n = float(count)
                self.running_mean.mul_(1 - factor).add_(mean.to(self.running_mean.dtype), alpha=factor)
                self.running_var.mul_(1 - factor).add_((var * n / (n - 1)).to(self.running_var.dtype),
                                                       alpha=factor)
        return y


def _convert_cpu(module: nn.Module) -> nn.Module:
    """Replace every nn.BatchNorm2d below ``module`` by a DistributedBatchNorm2d sharing its parameters and
    buffers."""
    if type(module) is nn.BatchNorm2d:
        new = DistributedBatchNorm2d(module.num_features, module.eps, module.momentum, module.affine,
                                     module.track_running_stats)
        if module.affine:
            new.weight, new.bias = module.weight, module.bias
        if module.track_running_stats:
            new.running_mean, new.running_var = module.running_mean, module.running_var
            new.num_batches_tracked = module.num_batches_tracked
        new.train(module.training)
        return new
    for name, child in module.named_children():
        converted = _convert_cpu(child)
        if converted is not child:
            setattr(module, name, converted)
    return module


def sync_batchnorm(module: nn.Module, env: Dist) -> nn.Module:
    """``module`` with global-batch BatchNorm when several processes train, else unchanged (in place where
    it can be; use the returned module)."""
    if env.world_size == 1:
        return module
    if env.device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return _convert_cpu(module)
