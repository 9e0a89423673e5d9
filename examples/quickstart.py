"""graphtorch quickstart: tensors, autograd, a small model trained a few steps, then graph mode.

Run: python examples/quickstart.py
"""

import graphtorch as torch
import graphtorch.nn as nn


def tensors_and_autograd() -> None:
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    print("x       =", x)
    print("y       =", y)
    print("dy/dx   =", x.grad)


def train_small_model() -> nn.Module:
    torch.manual_seed(0)
    # a noisy linear target the model can learn
    inputs = torch.randn(256, 8)
    true_w = torch.randn(8, 2)
    targets = inputs @ true_w + 0.1 * torch.randn(256, 2)

    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.MSELoss()
    for step in range(1, 201):
        opt.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        opt.step()
        if step % 50 == 0:
            print(f"step {step:3d}  loss {loss.item():.4f}")
    return model


def graph_mode(model: nn.Module) -> None:
    example = torch.randn(4, 8)
    traced = torch.jit.trace(model, example)
    print(traced.graph)
    batch = torch.randn(16, 8)
    diff = (traced(batch) - model(batch)).abs().max().item()
    print(f"traced vs eager at batch 16: max |diff| = {diff:.2e}")


if __name__ == "__main__":
    tensors_and_autograd()
    model = train_small_model()
    graph_mode(model)
