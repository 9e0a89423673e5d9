"""The legacy ``autograd.Variable`` idiom of the older nlp tutorials, under both frameworks."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.autograd import Variable
from graphtorch.errors import ArgumentError
from tests.compat.harness import initial_state, load_state, run_both


def test_variable_returns_a_detached_tensor_sharing_data():
    t = gt.ones(3)
    v = Variable(t, requires_grad=True)
    assert type(v) is gt.Tensor and v is not t
    assert v.requires_grad and v.is_leaf and not t.requires_grad
    t.add_(1.0)  # the wrapper shares t's data
    np.testing.assert_array_equal(v.detach().numpy(), [2.0, 2.0, 2.0])
    (v * v).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [4.0, 4.0, 4.0])


def test_variable_of_a_non_leaf_is_detached_and_isinstance_holds():
    x = gt.ones(2, requires_grad=True)
    y = x * 2
    w = Variable(y)
    assert not w.requires_grad and w.grad_fn is None
    assert isinstance(gt.zeros(1), Variable) and isinstance(w, gt.autograd.Variable)
    assert not isinstance(np.zeros(1), Variable)


def test_variable_rejects_non_tensors_and_warns_on_volatile():
    with pytest.raises(ArgumentError, match="Variable data has to be a tensor, but got int"):
        Variable(3)
    with pytest.warns(UserWarning, match="volatile was removed"):
        v = Variable(gt.ones(1), volatile=True)
    assert not v.requires_grad


def _bow_classifier(torch):
    nn = torch.nn

    class BoW(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(6, 2)

        def forward(self, vec):
            return torch.nn.functional.log_softmax(self.linear(vec), dim=1)

    return BoW()


def _variable_training(torch, state):
    from_autograd = torch.autograd.Variable
    model = load_state(torch, _bow_classifier(torch), state)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = torch.nn.NLLLoss()
    rng = np.random.default_rng(0)
    data = rng.integers(0, 3, size=(8, 6)).astype(np.float32)
    labels = rng.integers(0, 2, size=8)
    losses = []
    for _ in range(3):
        for row, label in zip(data, labels):
            model.zero_grad()
            vec = from_autograd(torch.tensor(row).view(1, -1))
            target = from_autograd(torch.LongTensor([int(label)]))
            loss = loss_fn(model(vec), target)
            loss.backward()
            optimizer.step()
            losses.append(loss.data.item())
    scale = from_autograd(torch.tensor([1.5, -0.5]), requires_grad=True)
    out = (model(from_autograd(torch.tensor(data))) * scale).sum()
    out.backward()
    return {"losses": losses, "scale_grad": scale.grad, "weight": model.linear.weight}


@pytest.mark.torch
def test_nlp_tutorial_variable_training_matches_pytorch():
    pytest.importorskip("torch")
    run_both(_variable_training, initial_state(_bow_classifier))
