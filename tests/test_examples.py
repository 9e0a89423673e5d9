"""Each training example runs a few steps and its loss goes down."""

import os
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


def test_jit_tutorial_matches_eager(tmp_path):
    # The script asserts every compiled result against eager mode itself; here: it finished,
    # showed each step, and wrote the archive and arrays examples/deploy.md uses.
    script = EXAMPLES / "jit_tutorial.py"
    run = subprocess.run([sys.executable, str(script), "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    for shown in ("prim::CallMethod", "if bool(", "prim::Loop", "traced cell on the other branch "
                  "differs from eager: True", "loaded module == eager"):
        assert shown in run.stdout, shown
    for name in ("gated_rnn.gt", "inputs.npz", "expected.npz"):
        assert (tmp_path / name).stat().st_size > 0


def test_deploy_md_commands_run(tmp_path):
    # Every ```bash block of examples/deploy.md, in order, as one script (set -e), in a fresh
    # directory that sees examples/ and runs this interpreter's `python` and `graphtorch`.
    text = (EXAMPLES / "deploy.md").read_text()
    blocks = re.findall(r"^```bash\n(.*?)^```", text, re.S | re.M)
    assert len(blocks) >= 6
    (tmp_path / "examples").symlink_to(EXAMPLES)
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "graphtorch").exists(), "the graphtorch command is not installed"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(["bash", "-e", "-c", "\n".join(blocks)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "compare output: ok" in run.stdout
    assert run.stdout.count("compare output: ok") == 2          # the original and O2 archives
    assert "prim::Loop" in run.stdout and "pipeline O2" in run.stdout
    for name in ("out.npz", "gated_rnn.html", "gated_rnn.dot", "gated_rnn_o2.gt"):
        assert (tmp_path / "deploy" / name).stat().st_size > 0
