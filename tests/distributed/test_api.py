"""In-process checks that need no second rank: errors before init_process_group, argument
errors, DistributedSampler against PyTorch's, and a world of one (plain python, MPI singleton)."""

import subprocess
import sys

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.distributed as dist
from graphtorch.errors import DistributedError
from graphtorch.utils.data.distributed import DistributedSampler


@pytest.mark.parametrize("call", [
    lambda: dist.all_reduce(gt.ones(2)),
    lambda: dist.broadcast(gt.ones(2), src=0),
    lambda: dist.barrier(),
    lambda: dist.get_rank(),
    lambda: dist.new_group([0]),
])
def test_collective_before_init_is_a_clear_error(call):
    assert not dist.is_initialized()
    with pytest.raises(DistributedError, match="Default process group has not been "
                                               "initialized, please make sure to call "
                                               "init_process_group"):
        call()


def test_init_argument_errors():
    with pytest.raises(DistributedError, match="unknown backend 'ucc'"):
        dist.init_process_group("ucc")
    with pytest.raises(DistributedError, match="init_method 'tcp://10.0.0.1:23456' is not "
                                               "supported"):
        dist.init_process_group("gloo", init_method="tcp://10.0.0.1:23456")
    assert not dist.is_initialized()


def test_reduce_op_names_match_pytorch():
    assert {op.name for op in dist.ReduceOp} >= {"SUM", "AVG", "PRODUCT", "MIN", "MAX"}


@pytest.mark.torch
@pytest.mark.parametrize("n", [0, 1, 7, 10, 13])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_shards_as_pytorch(n, replicas, drop_last):
    tdata = pytest.importorskip("torch.utils.data.distributed")
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = tdata.DistributedSampler(range(n), replicas, rank, shuffle=False,
                                          drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
        # shuffled: PyTorch's padding and striding applied to graphtorch's permutation
        shuffled = DistributedSampler(range(n), replicas, rank, shuffle=True, seed=4,
                                      drop_last=drop_last)
        shuffled.set_epoch(3)
        g = gt.Generator()
        g.manual_seed(4 + 3)
        perm = gt.randperm(n, generator=g).tolist()
        assert list(shuffled) == [perm[i] for i in theirs]


def test_sampler_epochs_shuffle_disjoint_shards():
    shards = [list(DistributedSampler(range(20), 2, r, seed=1)) for r in range(2)]
    assert sorted(shards[0] + shards[1]) == list(range(20))
    s = DistributedSampler(range(20), 2, 0, seed=1)
    first = list(s)
    s.set_epoch(1)
    assert list(s) != first and list(DistributedSampler(range(20), 2, 0, seed=1)) == first
    with pytest.raises(ValueError, match="Invalid rank 2"):
        DistributedSampler(range(4), 2, 2)


WORLD_OF_ONE = """
import graphtorch as torch, graphtorch.distributed as dist
dist.init_process_group("gloo")
t = torch.arange(4.0)
dist.all_reduce(t, op=dist.ReduceOp.AVG)
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 2))
model(t.reshape(1, 4)).sum().backward()
print(dist.get_rank(), dist.get_world_size(), t.tolist(), model.module.weight.grad.tolist())
try:
    dist.init_process_group("gloo")
except Exception as e:
    print(type(e).__name__, e)
dist.destroy_process_group()
try:
    dist.init_process_group("nccl")
except Exception as e:
    print(type(e).__name__, e)
"""


def test_world_of_one_without_a_launcher():
    pytest.importorskip("mpi4py", reason="graphtorch[distributed] (mpi4py) is not installed")
    run = subprocess.run([sys.executable, "-c", WORLD_OF_ONE], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert lines[0] == "0 1 [0.0, 1.0, 2.0, 3.0] [[0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0]]"
    assert lines[1] == ("DistributedError trying to initialize the default process group "
                        "twice")
    if not gt.cuda.is_available():
        assert lines[2].startswith("DistributedError backend 'nccl' needs CuPy with NCCL and a "
                                   "CUDA GPU"), lines
    np.testing.assert_equal(len(lines), 3)


class _HostEngine:
    name = "mpi"
    stages_through_host = True


def test_contiguous_tensors_reach_the_engine_without_a_copy():
    from graphtorch.distributed.staging import stage

    t = gt.arange(12.0).reshape(3, 4)
    staged = stage(t, _HostEngine(), "all_reduce", "tensor", writes=True)
    assert staged.buf is t._data and not staged.staged  # the tensor's own memory
    view = t[:, 1::2]
    staged = stage(view, _HostEngine(), "all_reduce", "tensor", writes=True)
    assert staged.staged and staged.buf.flags.c_contiguous
    staged.buf[...] = -1
    version = view._version
    staged.finish()
    np.testing.assert_array_equal(t.numpy()[:, 1::2], -1)  # written back through the view
    np.testing.assert_array_equal(t.numpy()[:, 0::2], np.arange(12.0).reshape(3, 4)[:, 0::2])
    assert view._version == version + 1  # autograd sees the in-place write
