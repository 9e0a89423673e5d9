"""``graphtorch.distributed``: PyTorch's process groups and collectives on MPI and NCCL.

>>> import graphtorch.distributed as dist
>>> dist.is_initialized()
False

Start the ranks with ``mpiexec -n 2 python train.py`` or ``python -m graphtorch.distributed.run
--nproc-per-node 2 train.py``, then ``dist.init_process_group("gloo")`` (the MPI engine; ``"mpi"``
is the same) or ``"nccl"`` for CUDA tensors. See docs/distributed.md.
"""

from graphtorch.distributed.collectives import (
    all_gather,
    all_gather_into_tensor,
    all_reduce,
    barrier,
    broadcast,
    gather,
    irecv,
    isend,
    recv,
    reduce,
    reduce_scatter,
    reduce_scatter_tensor,
    scatter,
    send,
)
from graphtorch.distributed.process_group import (
    Backend,
    GroupMember,
    ProcessGroup,
    destroy_process_group,
    get_backend,
    get_global_rank,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_gloo_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    new_group,
)
from graphtorch.distributed.reduce_op import ReduceOp
from graphtorch.distributed.work import Work
from graphtorch.errors import DistributedError as DistBackendError
from graphtorch.errors import DistributedError as DistError
from graphtorch.errors import DistributedTimeoutError

__all__ = [
    "Backend", "DistBackendError", "DistError", "DistributedTimeoutError", "GroupMember",
    "ProcessGroup", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor", "all_reduce",
    "barrier", "broadcast", "destroy_process_group", "gather", "get_backend", "get_global_rank",
    "get_process_group_ranks", "get_rank", "get_world_size", "init_process_group", "irecv",
    "is_available", "is_gloo_available", "is_initialized", "is_mpi_available",
    "is_nccl_available", "isend", "new_group", "recv", "reduce", "reduce_scatter",
    "reduce_scatter_tensor", "scatter", "send",
]
