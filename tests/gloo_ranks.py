"""Two torch.distributed ranks on loopback (gloo), in spawned processes with a timeout, for the tests
of the torch Scheduler under DDP and DCP.  ``spawn(train, out, phases)`` runs ``train(rank, out,
phase)`` for each phase on both ranks; a stuck collective fails the test instead of hanging it."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

# The last barrier's handle of each rank, held until the process exits (see _rank).
_LAST_BARRIER: list = []

Train = Callable[[int, str, str], None]


def _rank(rank: int, world: int, port: int, train: Train, out: str, phases: list[str]) -> None:
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)  # two ranks share the machine's cores
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        for phase in phases:
            train(rank, out, phase)
        # As the PyTorch guide's DDP example ends: the ranks leave together, and each holds the last
        # barrier's handle until it exits.  Otherwise one of gloo's worker threads may be the
        # last to hold the tensor of the plateau's final all_reduce, and freeing it needs the
        # GIL: if the interpreter is already shutting down, that thread aborts the process
        # ("terminate called without an active exception").
        done = dist.barrier(async_op=True)
        done.wait()
        _LAST_BARRIER.append(done)
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(train: Train, out: str, phases: list[str], timeout: float) -> None:
    """Run `phases` on 2 fresh spawned ranks; kill them and fail if they take over `timeout` seconds.
    `train` must be a module-level function (the children import it)."""
    import torch.multiprocessing as mp

    ctx = mp.start_processes(_rank, args=(2, _free_port(), train, out, phases), nprocs=2, join=False,
                             start_method="spawn")
    deadline = time.monotonic() + timeout
    while not ctx.join(timeout=1.0):  # raises if a rank failed
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            raise TimeoutError(f"the ranks of {phases} took over {timeout} s")
