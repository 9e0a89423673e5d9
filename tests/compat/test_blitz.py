"""The 60-minute blitz (tensors, autograd, a neural network) as programs run under both."""

from __future__ import annotations

import numpy as np
import pytest

from tests.compat.harness import initial_state, load_state, run_both

pytestmark = pytest.mark.torch


def tensors_program(torch):
    out = {}
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    out["from_list"] = x_data
    out["from_list_dtype"] = str(x_data.dtype).replace("graphtorch", "torch")
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    out["from_numpy"] = x_np
    out["ones_like"] = torch.ones_like(x_data)
    torch.manual_seed(0)
    x_rand = torch.rand_like(x_data, dtype=torch.float)
    out["rand_like_shape"] = tuple(x_rand.shape)
    out["rand_like_in_range"] = bool(((x_rand >= 0) & (x_rand < 1)).all())
    shape = (2, 3)
    out["zeros"] = torch.zeros(shape)
    out["ones"] = torch.ones(shape)
    tensor = torch.rand(3, 4)
    out["attributes"] = (tuple(tensor.shape), str(tensor.dtype).split(".")[-1],
                         str(tensor.device))
    tensor = torch.ones(4, 4)
    out["first_row"] = tensor[0]
    out["first_column"] = tensor[:, 0]
    out["last_column"] = tensor[..., -1]
    tensor[:, 1] = 0
    out["zeroed_column"] = tensor.clone()
    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    out["cat"] = t1
    tensor = torch.arange(16, dtype=torch.float32).reshape(4, 4)
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)
    y3 = torch.rand_like(y1)
    torch.matmul(tensor, tensor.T, out=y3)
    out["matmul"] = [y1, y2, y3]
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)
    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    out["mul"] = [z1, z2, z3]
    agg = tensor.sum()
    agg_item = agg.item()
    out["item"] = (agg_item, type(agg_item).__name__)
    tensor.add_(5)
    out["add_"] = tensor
    t = torch.ones(5)
    n = t.numpy()
    t.add_(1)
    out["numpy_shares_memory"] = n.copy()
    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)
    out["from_numpy_shares_memory"] = t
    return out


def test_tensors_tutorial():
    run_both(tensors_program)


def autograd_program(torch):
    a = torch.tensor([2.0, 3.0], requires_grad=True)
    b = torch.tensor([6.0, 4.0], requires_grad=True)
    q = 3 * a**3 - b**2
    q.backward(gradient=torch.tensor([1.0, 1.0]))
    out = {"q": q, "a.grad": a.grad, "b.grad": b.grad,
           "check_a": bool((9 * a**2 == a.grad).all()),
           "check_b": bool((-2 * b == b.grad).all())}
    x = torch.rand(5, 5)
    y = torch.rand(5, 5)
    z = torch.rand((5, 5), requires_grad=True)
    out["requires_grad"] = [(x + y).requires_grad, (x + z).requires_grad]
    # Freezing a pretrained trunk and training a fresh head.
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    for param in model.parameters():
        param.requires_grad = False
    model[2] = torch.nn.Linear(8, 2)
    opt = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    out["trainable"] = [n for n, p in model.named_parameters() if p.requires_grad]
    out["opt_params"] = len(opt.param_groups[0]["params"])
    with torch.no_grad():
        out["no_grad"] = (z * 2).requires_grad
    out["detach"] = z.detach().requires_grad
    return out


def test_autograd_tutorial():
    run_both(autograd_program)


def _lenet(torch):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, input):
            c1 = F.relu(self.conv1(input))
            s2 = F.max_pool2d(c1, (2, 2))
            c3 = F.relu(self.conv2(s2))
            s4 = F.max_pool2d(c3, 2)
            s4 = torch.flatten(s4, 1)
            f5 = F.relu(self.fc1(s4))
            f6 = F.relu(self.fc2(f5))
            return self.fc3(f6)

    return Net()


def neural_network_program(torch, state, data):
    net = load_state(torch, _lenet(torch), state)
    out = {"repr": repr(net).replace("graphtorch", "torch")}
    params = list(net.parameters())
    out["n_params"] = len(params)
    out["conv1_weight_size"] = tuple(params[0].size())
    input = torch.tensor(data["input"])
    output = net(input)
    out["output"] = output
    net.zero_grad()
    output.backward(torch.tensor(data["grad"]))
    out["conv1_bias_grad_after_backward"] = net.conv1.bias.grad.clone()
    output = net(input)
    target = torch.tensor(data["target"]).view(1, -1)
    criterion = torch.nn.MSELoss()
    loss = criterion(output, target)
    out["loss"] = loss
    # NOTE: node names differ where graphtorch decomposes (docs/differences.md); the walk works
    out["grad_fn"] = loss.grad_fn.name().endswith("Backward0")
    out["next_functions"] = loss.grad_fn.next_functions[0][0].name().endswith("Backward0")
    net.zero_grad()
    out["bias_grad_before"] = net.conv1.bias.grad
    loss.backward()
    out["bias_grad_after"] = net.conv1.bias.grad
    # The manual update rule, then the optimizer loop.
    learning_rate = 0.01
    with torch.no_grad():
        for f in net.parameters():
            f.data.sub_(f.grad.data * learning_rate)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        output = net(input)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    out["losses"] = losses
    out["weights"] = net.state_dict()
    return out


def test_neural_networks_tutorial():
    rng = np.random.default_rng(0)
    data = {"input": rng.standard_normal((1, 1, 32, 32)).astype(np.float32),
            "grad": rng.standard_normal((1, 10)).astype(np.float32),
            "target": rng.standard_normal(10).astype(np.float32)}
    expected, actual = run_both(neural_network_program, initial_state(_lenet), data)
    assert expected["bias_grad_before"] is None
