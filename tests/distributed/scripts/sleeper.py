"""Both ranks sleep; the launcher test stops them with SIGTERM."""

import time

import graphtorch.distributed as dist

dist.init_process_group("gloo")
dist.barrier()
if dist.get_rank() == 0:
    print("sleeping", flush=True)
time.sleep(60)
print("woke up", flush=True)
