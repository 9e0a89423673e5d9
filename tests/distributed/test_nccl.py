"""The NCCL engine on one GPU (world size 1): proves the CuPy bindings where a GPU is lent.
Multi-GPU runs are untested until a multi-GPU machine is available."""

import subprocess
import sys

import pytest

NCCL_WORLD_OF_ONE = """
import numpy as np
import graphtorch as torch
import graphtorch.distributed as dist

dist.init_process_group("nccl")
for dtype in (torch.float32, torch.float16, torch.int64, torch.bool):
    host = np.arange(1, 7).reshape(2, 3)
    host = host % 2 if dtype is torch.bool else host
    t = torch.tensor(host, dtype=dtype, device="cuda")
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.MAX, dist.ReduceOp.MIN, dist.ReduceOp.PRODUCT):
        dist.all_reduce(t, op=op)
    view = t.t()
    dist.all_reduce(view, async_op=True).wait()
    out = torch.zeros(2, 3, dtype=dtype, device="cuda")
    dist.all_gather_into_tensor(out, t)
    dist.broadcast(t, src=0)
    assert np.array_equal(t.cpu().numpy(), torch.tensor(host, dtype=dtype).numpy()), dtype
    assert np.array_equal(out.cpu().numpy(), t.cpu().numpy()), dtype
avg = torch.ones(4, device="cuda")
dist.all_reduce(avg, op=dist.ReduceOp.AVG)
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 2).cuda())
model(torch.ones(3, 4, device="cuda")).sum().backward()
assert np.allclose(model.module.weight.grad.cpu().numpy(), 3.0)
try:
    dist.all_reduce(torch.ones(2))
except Exception as e:
    print(type(e).__name__, e)
print("NCCL OK", float(avg.sum().cpu()))
dist.destroy_process_group()
"""


@pytest.mark.gpu
def test_nccl_world_of_one():
    pytest.importorskip("mpi4py", reason="graphtorch[distributed] (mpi4py) is not installed")
    pytest.importorskip("cupy.cuda.nccl", reason="CuPy was built without NCCL")
    run = subprocess.run([sys.executable, "-c", NCCL_WORLD_OF_ONE], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "NCCL OK 4.0" in run.stdout, run.stdout
    assert "DistributedError all_reduce: tensor is a CPU tensor but the process group's " \
           "backend is 'nccl'" in run.stdout
