"""Prints the launcher's environment variables and one all_reduce per rank."""

import os

import graphtorch as torch
import graphtorch.distributed as dist

dist.init_process_group("gloo", init_method="env://")
t = torch.tensor([float(dist.get_rank() + 1)])
dist.all_reduce(t)
e = os.environ
print(f"RANK={e['RANK']} LOCAL_RANK={e['LOCAL_RANK']} WORLD_SIZE={e['WORLD_SIZE']} "
      f"MASTER_ADDR={e['MASTER_ADDR']} dist_rank={dist.get_rank()} sum={float(t)}", flush=True)
dist.destroy_process_group()
