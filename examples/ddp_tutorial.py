"""PyTorch's DDP tutorial pattern with ``import graphtorch as torch``.

    mpiexec -n 2 python examples/ddp_tutorial.py
    python -m graphtorch.distributed.run --nproc-per-node 2 examples/ddp_tutorial.py
    python examples/ddp_tutorial.py --batch-size 32      # one process, the same global batch

init_process_group, a DistributedSampler per rank, a DDP-wrapped model, the training loop, a
checkpoint written by rank 0 and loaded by every rank.
"""

import argparse
import os
import tempfile

import numpy as np

import graphtorch as torch
import graphtorch.distributed as dist
from graphtorch import nn
from graphtorch.nn.parallel import DistributedDataParallel as DDP
from graphtorch.utils.data import DataLoader, TensorDataset
from graphtorch.utils.data.distributed import DistributedSampler


class ToyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.net1 = nn.Linear(10, 32)
        self.relu = nn.ReLU()
        self.net2 = nn.Linear(32, 4)

    def forward(self, x):
        return self.net2(self.relu(self.net1(x)))


def dataset(n: int = 512) -> TensorDataset:
    g = np.random.default_rng(0)
    x = g.standard_normal((n, 10)).astype(np.float32)
    w = g.standard_normal((10, 4)).astype(np.float32)
    y = (x @ w).argmax(1)
    return TensorDataset(torch.tensor(x), torch.tensor(y))


def full_loss(model, data: TensorDataset) -> float:
    with torch.no_grad():
        x, y = data.tensors
        return float(nn.functional.cross_entropy(model(x), y))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=16, help="per rank")
    parser.add_argument("--checkpoint", default=None)
    args = parser.parse_args()

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    data = dataset()
    sampler = DistributedSampler(data, shuffle=True, seed=0)
    loader = DataLoader(data, batch_size=args.batch_size, sampler=sampler)
    model = DDP(ToyModel())
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    if rank == 0:
        print(f"world {world} initial loss {full_loss(model.module, data):.4f}", flush=True)
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
        if rank == 0:
            print(f"epoch {epoch} loss {full_loss(model.module, data):.4f}", flush=True)

    path = args.checkpoint or os.path.join(tempfile.gettempdir(), f"ddp_toy_{os.getppid()}.gt")
    if rank == 0:
        torch.save(model.module.state_dict(), path)
    dist.barrier()  # every rank reads the file only after rank 0 wrote it
    restored = ToyModel()
    restored.load_state_dict(torch.load(path))
    for p, q in zip(restored.parameters(), model.module.parameters()):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())
    print(f"rank {rank} loaded the checkpoint; final loss {full_loss(restored, data):.4f}",
          flush=True)
    dist.barrier()
    if rank == 0 and args.checkpoint is None:
        os.remove(path)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
