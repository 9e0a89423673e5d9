"""Each training example runs a few steps and its loss goes down."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("script,steps", [("train_mlp.py", 60), ("train_cnn.py", 100),
                                          ("tiny_transformer_lm.py", 40)])
def test_example_loss_decreases(script, steps):
    run = subprocess.run([sys.executable, str(EXAMPLES / script), "--steps", str(steps)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"{steps}/{steps} loss" in run.stdout
    found = re.search(r"initial loss ([\d.]+) -> final loss ([\d.]+)", run.stdout)
    assert found, run.stdout[-2000:]
    first, last = float(found.group(1)), float(found.group(2))
    assert last < 0.8 * first, f"{script}: loss went from {first} to {last}"
