"""benchmarks/real_programs.py: how it runs a program with PyTorch and with graphtorch in place of
``torch`` and classifies it (on small programs written here, not the tutorials)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# random draws of every kind the runner shares: init, randn, dropout, a shuffled DataLoader
DRAWS = '''
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(3)
model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.ReLU(), nn.Linear(8, 1))
data = TensorDataset(torch.randn(10, 4), torch.randint(0, 3, (10,)))
for x, y in DataLoader(data, batch_size=4, shuffle=True):
    print(model(x).sum().item(), y.tolist())
print(torch.rand(3), torch.randperm(5))
'''

# PyTorch >= 2.6 refuses a whole module without weights_only=False; graphtorch must as well
REFUSED = '''
import torch
torch.save(torch.nn.Linear(2, 2), "m.pt")
torch.load("m.pt")
'''

# an API graphtorch lacks
MISSING = '''
import torch
print(torch.ones(2, dtype=torch.bfloat16))
'''


def _run(tmp_path: Path) -> dict[str, dict]:
    progs = tmp_path / "programs"
    progs.mkdir()
    for name, text in (("draws", DRAWS), ("refused", REFUSED), ("missing", MISSING)):
        (progs / f"{name}.py").write_text(text)
    out = tmp_path / "rows.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "real_programs.py"), str(progs),
                    "--json", str(out), "--timeout", "120"], check=True, cwd=tmp_path,
                   capture_output=True, text=True)
    return {row["program"]: row for row in json.loads(out.read_text())}


def test_runner_shares_draws_and_classifies(tmp_path):
    pytest.importorskip("torch")
    rows = _run(tmp_path)
    assert rows["draws"]["status"] == "equal", rows["draws"]["detail"]
    assert rows["refused"]["status"] == "refused", rows["refused"]["detail"]
    assert "UnpicklingError" in rows["refused"]["detail"]
    assert rows["missing"]["status"] == "stops"
    assert "bfloat16" in rows["missing"]["detail"]


def test_compare_outputs_masks_addresses_and_reports_first_difference():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import real_programs
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    same = real_programs.compare_outputs("<Node at 0x7f01> loss 1.00000 conv1",
                                         "<Node at 0x5a02> loss 1.00001 conv1", [], 1e-3, 2e-4)
    assert same == ""
    diff = real_programs.compare_outputs("a 1.0\nb 2.0", "a 1.0\nb 2.5", [], 1e-3, 2e-4)
    assert diff.startswith("line 2")
    assert real_programs.compare_outputs("x 1 2", "x 1", [], 1e-3, 2e-4).startswith("2 numbers")
    text = real_programs.text_difference("<AddmmBackward0>", "<MulBackward0>", [])
    assert "AddmmBackward0" in text and "MulBackward0" in text
