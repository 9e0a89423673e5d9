"""Failure scenarios on 2 ranks (argv[1] picks one); each must end the job with a message."""

import datetime
import os
import signal
import sys
import time

import graphtorch as torch
import graphtorch.distributed as dist
from graphtorch import nn
from graphtorch.distributed.process_group import WORLD
from graphtorch.errors import DistributedError
from graphtorch.nn.parallel import DistributedDataParallel as DDP

MODE = sys.argv[1]
dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=3))
R = dist.get_rank()
x = torch.ones(4)
dist.all_reduce(x)

if MODE == "raise":
    if R == 1:
        raise ValueError("rank one gives up")
    dist.all_reduce(x)  # rank 0 waits here until the job is aborted
elif MODE == "kill":
    if R == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    for _ in range(100):
        dist.all_reduce(x)
        time.sleep(0.05)
elif MODE == "hang":
    if R == 1:
        time.sleep(60)  # never joins: rank 0 must time out after 3 s
    dist.all_reduce(x)
elif MODE == "ddp_skew":
    # DDP's bucket all-reduces skip the header agreement: a peer calling another collective
    # instead of the backward is caught by the timeout on both ranks, never a hang
    torch.manual_seed(0)
    ddp = DDP(nn.Linear(4, 4))
    if R == 0:
        ddp(torch.ones(2, 4)).sum().backward()
    else:
        dist.all_reduce(torch.ones(16))
elif MODE == "mismatch":
    for bad, needle in [(torch.ones(3 + R), "shape [4]"),
                        (torch.ones(3, dtype=torch.float64 if R else torch.float32),
                         "float64 tensor")]:
        try:
            dist.all_reduce(bad)
        except DistributedError as e:
            assert "do not agree" in str(e) and needle in str(e), e
            print(f"rank {R}: {e}", flush=True)
        else:
            raise AssertionError("mismatched all_reduce did not raise")
    try:
        if R == 0:
            dist.all_reduce(torch.ones(2))
        else:
            dist.broadcast(torch.ones(2), src=0)
    except DistributedError as e:
        assert "rank 0 calls all_reduce" in str(e) and "rank 1 calls broadcast" in str(e), e
        print(f"rank {R}: {e}", flush=True)
    else:
        raise AssertionError("different collectives did not raise")
    dist.all_reduce(x)  # the group still works after a caught mismatch
    # the same detection through exchange()'s fallback for an MPI without MPI_Allgather_init
    host = WORLD.default.host_engine
    host._xreq.Free()
    host._xreq = None
    try:
        dist.all_reduce(torch.ones(5 + R))
    except DistributedError as e:
        assert "rank 0 calls all_reduce with a float32 tensor of shape [5]; rank 1 calls " \
               "all_reduce with a float32 tensor of shape [6]" in str(e), e
    else:
        raise AssertionError("mismatched all_reduce did not raise without the persistent request")
    y = torch.ones(3) * (R + 1)
    dist.all_reduce(y)
    assert y.tolist() == [3.0, 3.0, 3.0], y
    print(f"MISMATCH OK rank {R}", flush=True)
print(f"rank {R} finished {MODE}", flush=True)
