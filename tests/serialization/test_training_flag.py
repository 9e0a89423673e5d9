"""Scripted modules that branch on ``self.training`` save, load and honour train()/eval()."""

import numpy as np

import graphtorch as gt


class Branchy(gt.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = gt.nn.Linear(3, 3)

    def forward(self, x):
        if self.training:
            return self.lin(x) * 2
        return self.lin(x)


def test_training_branch_round_trips(tmp_path):
    gt.manual_seed(0)
    scripted = gt.jit.script(Branchy())
    path = tmp_path / "branchy.gt"
    gt.jit.save(scripted, str(path))
    loaded = gt.jit.load(str(path))
    x = gt.rand(2, 3)
    assert loaded.training
    np.testing.assert_allclose(loaded(x).detach().numpy(), scripted(x).detach().numpy())
    loaded.eval()
    scripted.eval()
    np.testing.assert_allclose(loaded(x).detach().numpy(), scripted(x).detach().numpy())
    np.testing.assert_allclose(loaded(x).detach().numpy(),
                               scripted.lin(x).detach().numpy(), rtol=1e-6)
