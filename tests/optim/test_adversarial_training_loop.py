"""A whole training script run twice, once per library, with a checkpoint resumed halfway."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

pytestmark = pytest.mark.torch


def _script(lib, nn, F, data, weights, steps, ckpt_path, resume_at):
    """Typical PyTorch code; only the library objects differ. Returns the loss per step."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 4, 3, padding=1, padding_mode="reflect")
            self.bn = nn.BatchNorm2d(4)
            self.pool = nn.MaxPool2d(2, ceil_mode=True)
            self.drop = nn.Dropout(0.0)
            self.head = nn.Linear(4 * 3 * 3, 3)

        def forward(self, x):
            x = self.pool(F.relu(self.bn(self.conv(x))))
            return self.head(self.drop(x.flatten(1)))

    def build():
        model = Net().double()
        model.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
        decay = [p for n, p in model.named_parameters() if n.endswith("weight")]
        rest = [p for n, p in model.named_parameters() if not n.endswith("weight")]
        opt = lib.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                               {"params": rest, "weight_decay": 0.0}], lr=0.01, amsgrad=True)
        sch = lib.optim.lr_scheduler
        warm = sch.LinearLR(opt, 0.2, total_iters=3)
        cos = sch.CosineAnnealingLR(opt, T_max=steps)
        return model, opt, sch.SequentialLR(opt, [warm, cos], milestones=[3])

    x, y = data
    ds = data_mod(lib).TensorDataset(lib.tensor(x), lib.tensor(y))
    order = [int(i) for i in np.random.default_rng(0).permutation(len(x))]
    loader = data_mod(lib).DataLoader(ds, batch_size=5, sampler=order, drop_last=True)
    crit = nn.CrossEntropyLoss(weight=lib.tensor(np.array([1.0, 2.0, 0.5])),
                               label_smoothing=0.1)
    model, opt, sched = build()
    losses, step = [], 0
    while step < steps:
        for xb, yb in loader:
            if step == resume_at:
                lib.save({"model": model.state_dict(), "opt": opt.state_dict(),
                          "sched": sched.state_dict(), "step": step}, ckpt_path)
                model, opt, sched = build()
                ck = lib.load(ckpt_path)
                model.load_state_dict(ck["model"])
                opt.load_state_dict(ck["opt"])
                sched.load_state_dict(ck["sched"])
            model.train()
            opt.zero_grad()
            loss = crit(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            step += 1
            if step == steps:
                break
    model.eval()
    with lib.no_grad():
        losses.append(float(crit(model(lib.tensor(x)), lib.tensor(y))))
    return losses


def data_mod(lib):
    return lib.utils.data


def test_training_script_with_checkpoint_matches_pytorch(tmp_path):
    import torch
    import torch.nn.functional as tF

    rng = np.random.default_rng(0)
    x = rng.standard_normal((23, 2, 6, 5))
    y = rng.integers(0, 3, 23)
    torch.manual_seed(0)

    # draw the initial weights from PyTorch's module so both runs start identical
    class _Init(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(2, 4, 3)
            self.bn = torch.nn.BatchNorm2d(4)
            self.head = torch.nn.Linear(36, 3)

    weights = {k: v.double().numpy().copy() for k, v in _Init().state_dict().items()}
    ours = _script(gt, gt.nn, gt.nn.functional, (x, y), weights, 12,
                   str(tmp_path / "ours.pt"), 7)
    theirs = _script(torch, torch.nn, tF, (x, y), weights, 12, str(tmp_path / "theirs.pt"), 7)
    assert len(ours) == 13 and len(set(np.round(ours, 6))) > 5
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-11)
