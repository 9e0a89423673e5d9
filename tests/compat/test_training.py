"""Typical training scripts, written once, run under PyTorch and graphtorch from equal weights."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests.compat.harness import initial_state, load_state, run_both

pytestmark = pytest.mark.torch


def _mlp(torch):
    nn = torch.nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(),
                                     nn.Linear(16, 3))

        def forward(self, x):
            return self.net(x)

    return MLP()


def _classification_data(seed=0, n=96, features=8, classes=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    w = rng.standard_normal((features, classes)).astype(np.float32)
    return x, (x @ w).argmax(1).astype(np.int64)


def _train_epoch(torch, model, loader, criterion, optimizer):
    model.train()
    losses = []
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _accuracy(torch, model, x, y):
    model.eval()
    with torch.no_grad():
        pred = model(x).argmax(dim=1)
    return (pred == y).float().mean().item()


def mlp_program(torch, state, data, order, save_path):
    x_np, y_np = data
    model = load_state(torch, _mlp(torch), state)
    dataset = torch.utils.data.TensorDataset(torch.tensor(x_np), torch.tensor(y_np))
    # NOTE: a sampler from one numpy permutation gives both frameworks the same shuffled order
    loader = torch.utils.data.DataLoader(dataset, batch_size=16, sampler=order)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    out = {"epochs": [], "lr": []}
    for _epoch in range(3):
        out["epochs"].append(_train_epoch(torch, model, loader, criterion, optimizer))
        scheduler.step()
        out["lr"].append(scheduler.get_last_lr()[0])
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "epoch": 3}, save_path)
    for _epoch in range(2):
        out["epochs"].append(_train_epoch(torch, model, loader, criterion, optimizer))
        scheduler.step()
    out["final"] = model.state_dict()
    # Resume from the checkpoint into fresh objects: the continuation must be identical.
    ckpt = torch.load(save_path)
    model2 = _mlp(torch)
    model2.load_state_dict(ckpt["model"])
    optimizer2 = torch.optim.SGD(model2.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    optimizer2.load_state_dict(ckpt["optimizer"])
    scheduler2 = torch.optim.lr_scheduler.StepLR(optimizer2, step_size=2, gamma=0.5)
    scheduler2.load_state_dict(ckpt["scheduler"])
    resumed = []
    for _epoch in range(ckpt["epoch"], 5):
        resumed.append(_train_epoch(torch, model2, loader, criterion, optimizer2))
        scheduler2.step()
    out["resumed"] = resumed
    out["resumed_final"] = model2.state_dict()
    out["accuracy"] = _accuracy(torch, model2, torch.tensor(x_np), torch.tensor(y_np))
    return out


def test_mlp_classifier_dataloader_sgd_steplr_checkpoint(tmp_path):
    data = _classification_data()
    order = np.random.default_rng(5).permutation(len(data[0])).tolist()
    expected, actual = run_both(mlp_program, initial_state(_mlp), data, order,
                                str(tmp_path / "ckpt.pt"))
    np.testing.assert_allclose(expected["resumed"], expected["epochs"][3:], rtol=1e-6)
    np.testing.assert_allclose(actual["resumed"], actual["epochs"][3:], rtol=1e-6)
    assert actual["epochs"][-1][-1] < actual["epochs"][0][0]


def shuffled_loader_program(torch, data):
    x_np, y_np = data
    g = torch.Generator()
    g.manual_seed(3)
    dataset = torch.utils.data.TensorDataset(torch.tensor(x_np), torch.tensor(y_np))
    loader = torch.utils.data.DataLoader(dataset, batch_size=10, shuffle=True, generator=g,
                                         drop_last=True)
    seen = []
    for _ in range(2):
        for xb, yb in loader:
            assert tuple(xb.shape) == (10, 8) and tuple(yb.shape) == (10,)
            seen.extend(yb.tolist())
    train, val = torch.utils.data.random_split(dataset, [0.75, 0.25], generator=g)
    return {"batches": len(loader), "label_counts": np.bincount(seen).tolist(),
            "split": [len(train), len(val)]}


def test_shuffled_loader_covers_each_epoch():
    # NOTE: graphtorch's generator stream differs from PyTorch's: compare what the order doesn't
    # decide (every sample once per epoch, batch count, split sizes)
    x, y = _classification_data(n=90)
    y = np.arange(90) % 3
    run_both(shuffled_loader_program, (x, y))


def _cnn(torch):
    nn = torch.nn
    return nn.Sequential(
        # NOTE: no conv bias before batch norm: its gradient is zero up to rounding, and Adam
        # turns rounding noise into full-size steps that differ between any two libraries
        nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(8 * 2 * 2, 4))


def cnn_program(torch, state, data):
    x_np, y_np = data
    model = load_state(torch, _cnn(torch), state)
    x, y = torch.tensor(x_np), torch.tensor(y_np)
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.9, 0.99))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=6, eta_min=1e-4)
    losses, lrs = [], []
    # NOTE: dropout masks come from different generators: train in eval mode for the dropout
    # layer only, which is what a deterministic comparison needs
    for _step in range(6):
        model.train()
        model[9].eval()
        for i in range(0, len(x), 8):
            optimizer.zero_grad()
            loss = criterion(model(x[i:i + 8]), y[i:i + 8])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    model.eval()
    with torch.no_grad():
        logits = model(x)
        probs = torch.softmax(logits, dim=1)
    return {"losses": losses, "lrs": lrs, "state": model.state_dict(), "probs": probs,
            "pred": probs.argmax(1), "running_var": model[1].running_var,
            "batches_tracked": int(model[1].num_batches_tracked)}


def test_cnn_batchnorm_adam_cosine():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((24, 1, 12, 12)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0).astype(np.int64) + 2 * (x[:, 0, :6].mean((1, 2)) > 0)
    run_both(cnn_program, initial_state(_cnn), (x, y), rtol=2e-4, atol=2e-5)


def _lstm_model(torch):
    nn = torch.nn

    class SeqModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(12, 6, padding_idx=0)
            self.lstm = nn.LSTM(6, 10, num_layers=2, batch_first=True)
            self.head = nn.Linear(10, 12)

        def forward(self, tokens):
            h, (hn, cn) = self.lstm(self.embed(tokens))
            return self.head(h), hn

    return SeqModel()


def lstm_program(torch, state, tokens_np):
    model = load_state(torch, _lstm_model(torch), state)
    tokens = torch.tensor(tokens_np)
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.05)
    losses, norms = [], []
    for _step in range(8):
        optimizer.zero_grad()
        logits, _ = model(inputs)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 12), targets.reshape(-1),
                                                 ignore_index=0)
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5).item())
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        logits, hn = model(inputs[:2])
    return {"losses": losses, "norms": norms, "hn": hn, "logits": logits,
            "state": model.state_dict()}


def test_lstm_adamw_clip_grad_norm():
    rng = np.random.default_rng(4)
    tokens = rng.integers(0, 12, size=(6, 9)).astype(np.int64)
    run_both(lstm_program, initial_state(_lstm_model), tokens, rtol=2e-4, atol=2e-5)


def _transformer(torch):
    nn = torch.nn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(20, 16)
            self.pos = nn.Parameter(torch.zeros(1, 7, 16))
            layer = nn.TransformerEncoderLayer(16, nhead=4, dim_feedforward=32, dropout=0.0,
                                               batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, num_layers=2,
                                                 enable_nested_tensor=False)
            self.norm = nn.LayerNorm(16)
            self.head = nn.Linear(16, 2)

        def forward(self, tokens, pad_mask):
            h = self.encoder(self.embed(tokens) + self.pos, src_key_padding_mask=pad_mask)
            keep = (~pad_mask).unsqueeze(-1).float()
            pooled = (h * keep).sum(1) / keep.sum(1)
            return self.head(self.norm(pooled))

    return Classifier()


def transformer_program(torch, state, data):
    tokens_np, lengths, labels_np = data
    torch.manual_seed(0)
    model = load_state(torch, _transformer(torch), state)
    tokens, labels = torch.tensor(tokens_np), torch.tensor(labels_np)
    pad_mask = torch.arange(7).unsqueeze(0) >= torch.tensor(lengths).unsqueeze(1)
    tokens = tokens.masked_fill(pad_mask, 0)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=5e-3, total_steps=6)
    losses = []
    for _step in range(6):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(tokens, pad_mask), labels)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(tokens, pad_mask)
    # NOTE: the key bias cannot change attention (softmax ignores a per-query constant): its
    # gradient is rounding noise, which Adam scales up; compare the query and value biases only
    state = {}
    for k, v in model.state_dict().items():
        state[k] = torch.cat([v[:16], v[32:]]) if k.endswith("in_proj_bias") else v
    return {"losses": losses, "logits": logits, "state": state}


def test_transformer_encoder_classifier():
    rng = np.random.default_rng(6)
    tokens = rng.integers(1, 20, size=(5, 7)).astype(np.int64)
    lengths = [7, 5, 3, 6, 4]
    labels = rng.integers(0, 2, size=5).astype(np.int64)
    run_both(transformer_program, initial_state(_transformer), (tokens, lengths, labels),
             rtol=5e-4, atol=5e-5)


def regression_program(torch, data):
    x_np, y_np = data
    x, y = torch.tensor(x_np), torch.tensor(y_np)
    w = torch.zeros(3, 1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.05}], lr=0.1,
                                nesterov=True, momentum=0.5)
    criterion = torch.nn.MSELoss(reduction="mean")
    losses = []

    def closure():
        optimizer.zero_grad()
        loss = criterion(x @ w + b, y)
        loss.backward()
        return loss

    for _step in range(15):
        losses.append(optimizer.step(closure).item())
    rms = torch.optim.RMSprop([w, b], lr=1e-2, alpha=0.9)
    for _step in range(5):
        rms.zero_grad(set_to_none=True)
        loss = torch.nn.functional.smooth_l1_loss(x @ w + b, y, beta=0.5)
        loss.backward()
        rms.step()
        losses.append(loss.item())
    return {"losses": losses, "w": w, "b": b,
            "groups": [g["lr"] for g in optimizer.param_groups]}


def test_linear_regression_closures():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((40, 3)).astype(np.float32)
    y = (x @ np.array([[1.5], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)
    run_both(regression_program, (x, y))


def state_dict_bytes_program(torch, state):
    model = load_state(torch, _mlp(torch), state)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    restored = _mlp(torch)
    result = restored.load_state_dict(torch.load(buffer, weights_only=True))
    return {"keys": list(restored.state_dict()),
            "missing": list(result.missing_keys), "unexpected": list(result.unexpected_keys),
            "out": restored(torch.ones(2, 8))}


def test_state_dict_through_file_object():
    run_both(state_dict_bytes_program, initial_state(_mlp))
