"""PyTorch DDP when launched by ``torchrun``; a single process otherwise. No home-made layer."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class ProcessGroup:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    return int(os.environ.get('WORLD_SIZE', '1')) > 1


def init_process_group(device: torch.device) -> ProcessGroup:
    """Join the torchrun job (gloo on CPU, NCCL on CUDA); a plain run gets a group of one."""
    if not launched_by_torchrun():
        return ProcessGroup()
    if not dist.is_initialized():
        dist.init_process_group(backend='nccl' if device.type == 'cuda' else 'gloo')
    return ProcessGroup(dist.get_rank(), dist.get_world_size(), int(os.environ.get('LOCAL_RANK', '0')))


def resolve_device(name: str, group_local_rank: int | None = None) -> torch.device:
    """``auto`` picks CUDA when present; each torchrun process takes its local GPU."""
    name = str(name).lower()
    if name == 'auto':
        name = 'cuda' if torch.cuda.is_available() else 'cpu'
    if name == 'cuda':
        if not torch.cuda.is_available():
            from .errors import ConfigError
            raise ConfigError('--device cuda was asked for, but no CUDA device is available; use --device cpu.')
        local = int(os.environ.get('LOCAL_RANK', '0')) if group_local_rank is None else group_local_rank
        torch.cuda.set_device(local)
        return torch.device('cuda', local)
    return torch.device(name)


def broadcast_object(obj, group: ProcessGroup):
    """Rank 0's ``obj`` on every rank (e.g. the run directory, so only one is made)."""
    if not group.is_distributed:
        return obj
    holder = [obj]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def barrier(group: ProcessGroup) -> None:
    if group.is_distributed:
        dist.barrier()


def shutdown(group: ProcessGroup) -> None:
    if group.is_distributed and dist.is_initialized():
        dist.destroy_process_group()


def control_group(group: ProcessGroup):
    """A gloo group for host-side flags (a stop signal, the first bad step): agreeing on them never waits for the
    GPU, which an NCCL all-reduce read back with ``.item()`` would. None for a single process."""
    return dist.new_group(backend='gloo') if group.is_distributed else None


class StopAgreement:
    """Every process stops at the same step when any of them was sent SIGINT or SIGTERM.

    Each step posts this process's wish on the host-side ``control`` group without waiting (``async_op``) and
    reads the answer posted one step earlier, which every process reads at the same step.
    """

    def __init__(self, control):
        self.control, self._posted = control, None

    def exchange(self, wish: bool) -> bool:
        """Post this step's wish; return whether any process wished to stop by the step before."""
        agreed = self._read()
        flag = torch.tensor([1 if wish else 0], dtype=torch.int32)
        self._posted = flag, dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=self.control, async_op=True)
        return agreed

    def close(self) -> None:
        """Wait for the last posted wish (every process posted it), so no collective is left in flight."""
        self._read()

    def _read(self) -> bool:
        if self._posted is None:
            return False
        (flag, work), self._posted = self._posted, None
        work.wait()
        return flag.tolist()[0] > 0


def rank_seed(seed: int, rank: int, step: int = 0) -> int:
    """A seed for one DDP rank (and, after a resume with another world size, one step), distinct per rank."""
    digest = hashlib.sha256(f'{seed}/{rank}/{step}'.encode()).digest()
    return int.from_bytes(digest[:8], 'little') % 2 ** 63


def state_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 over a state dict's names, dtypes, shapes and raw bytes, in key order (compares ranks)."""
    h = hashlib.sha256()
    for key in sorted(state):
        if not isinstance(state[key], torch.Tensor):       # a module's extra state (``get_extra_state``)
            h.update(f'{key}|{state[key]!r}|'.encode())
            continue
        tensor = state[key].detach().cpu().contiguous()
        h.update(f'{key}|{tensor.dtype}|{tuple(tensor.shape)}|'.encode())
        h.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()
