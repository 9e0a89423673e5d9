"""Every exit-code rule of docs/cli.md, through the real ``python -m graphtorch`` in subprocesses:
usage errors are exit 2 with exactly one line, model and data errors exit 1 with one line, no
traceback anywhere, a closed stdout ends quietly, ``-o`` writes exactly the file named."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.archive import save
from graphtorch.cli import app as cli
from tests.serialization.models import scale, traced_mlp

ROOT = Path(__file__).resolve().parents[2]


def gtcli(*args, stdout=subprocess.PIPE, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "graphtorch", *map(str, args)], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=timeout)


def one_line_error(proc: subprocess.CompletedProcess, code: int, command: str) -> str:
    """The single stderr line of a failed command, checked for the shape every error has."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr.count("\n") == 1 and proc.stderr.endswith("\n"), proc.stderr
    assert proc.stderr.startswith(f"graphtorch{' ' + command if command else ''}: error: ")
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    return proc.stderr


class Returns(gt.nn.Module):
    """Returns a buffer, an int attribute and a tensor default: values not made by an op."""

    def __init__(self):
        super().__init__()
        self.register_buffer("table", gt.arange(6, dtype=gt.float32).reshape(2, 3))
        self.count = 7

    def forward(self, x, bias: gt.Tensor = gt.full((3,), 0.5)):
        return self.table, self.count, bias, x * 2.0


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    paths = {"mlp": d / "mlp.gt", "scale": d / "scale.gt", "returns": d / "returns.gt"}
    save(traced_mlp(), paths["mlp"])
    save(scale, paths["scale"])
    save(gt.jit.script(Returns()), paths["returns"])
    return paths


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("inputs")
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(d / "x.npy", x)
    np.savez(d / "x.npz", x=x)
    np.savez(d / "scale_array_k.npz", x=x[0], k=np.ones(3))
    np.savez(d / "scale_int_for_float.npz", x=x[0], k=np.int64(2))
    np.savez(d / "scale_bool_k.npz", x=x[0], k=np.bool_(True))
    np.save(d / "strings.npy", np.array(["a", "b"]))
    np.save(d / "big_endian.npy", x.astype(">f4"))
    (d / "garbage.npz").write_bytes(b"PK\x03\x04 not really a zip")
    (d / "text.npy").write_text("1 2 3\n")
    return {p.stem: p for p in d.iterdir()} | {"dir": d}


# -- exit 2: usage ---------------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    ([], "the following arguments are required: COMMAND"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["run"], "the following arguments are required: model"),
    (["run", "{mlp}", "--bogus"], "unrecognized arguments: --bogus"),
    (["run", "{mlp}", "--iters", "0"], "argument --iters: must be at least 1, got 0"),
    (["run", "{mlp}", "--iters", "many"], "argument --iters: expected an integer, got 'many'"),
    (["run", "{mlp}", "--iters"], "argument --iters: expected one argument"),
    (["run", "{mlp}", "--timeout", "0"], "argument --timeout: must be a positive number"),
    (["run", "{mlp}", "--timeout", "nan"], "argument --timeout: must be a positive number"),
    (["run", "{mlp}", "--max-input-bytes", "lots"], "expected a byte count like"),
    (["run", "{mlp}", "--progress", "sometimes"], "argument --progress: invalid choice"),
    (["run", "{mlp}", "--shape", "x:3by4"], "expected NAME:DIMS[:DTYPE]"),
    (["run", "{mlp}", "--input", "x.npy"], "expected NAME=FILE.npy"),
    (["run", "{mlp}", "-o", "{dir}"], "is a directory; name the file to write"),
    (["run", "{mlp}", "-o", "{dir}/outputs.gt"], "run writes the outputs as an .npz file"),
    (["optimize", "{mlp}"], "the following arguments are required: -o/--output"),
    (["optimize", "{mlp}", "-o", "{dir}"], "is a directory; name the file to write"),
    (["optimize", "{mlp}", "-o", "{dir}/o.gt", "--level", "O9"], "unknown pipeline 'O9'"),
])
def test_usage_errors_exit_2_with_exactly_one_line(args, message, models, tmp_path):
    proc = gtcli(*[a.format(dir=tmp_path, **models) for a in args])
    command = args[0] if args and args[0] in ("run", "optimize") else ""
    line = one_line_error(proc, 2, command)
    assert message in line
    assert proc.stdout == ""
    assert list(tmp_path.iterdir()) == []        # nothing written


def test_usage_error_names_help(models):
    line = one_line_error(gtcli("run", models["mlp"], "--iters", "0"), 2, "run")
    assert line.rstrip().endswith("(see graphtorch run --help)")


def test_run_output_onto_the_model_itself_is_a_usage_error(models, tmp_path):
    model = tmp_path / "model.bin"
    model.write_bytes(models["mlp"].read_bytes())
    line = one_line_error(gtcli("run", model, "-o", model), 2, "run")
    assert "is the model archive itself" in line
    assert model.read_bytes() == models["mlp"].read_bytes()


# -- exit 1: model and data ------------------------------------------------------------------
@pytest.mark.parametrize("model, args, message", [
    ("mlp", ["--inputs", "{x}"], "holds one array (.npy), not named arrays (.npz); pass it as "
                                 "--input NAME="),
    ("mlp", ["--input", "x={x_npz}"], "holds named arrays (.npz), not one array (.npy); pass "
                                      "it as --inputs"),
    ("mlp", ["--inputs", "{garbage}"], "cannot read"),
    ("mlp", ["--inputs", "{dir}"], "is a directory, not a .npz file"),
    ("mlp", ["--input", "x={text}"], "cannot read"),
    ("mlp", ["--inputs", "{dir}/missing.npz"], "--inputs: no such file"),
    ("mlp", ["--input", "x={strings}"], "input 'x' : Tensor(float32, [3, 4], cpu): numpy "
                                        "dtype <U1 has no graphtorch equivalent"),
    ("mlp", ["--shape", "x:3x5"], "shapes cannot be multiplied (3x5 and 4x8)"),
    ("mlp", ["--shape", "x:3x4:int64"], "but got a tensor of dtype int64"),
    ("scale", ["--inputs", "{scale_array_k}"], "input 'k' : float is a scalar, but the array "
                                               "given has shape [3]"),
    ("scale", ["--inputs", "{scale_bool_k}"], "input 'k' : float cannot take a value of dtype "
                                              "bool"),
    ("mlp", ["--max-input-bytes", "47"], "random inputs would take 48 bytes, above the limit "
                                         "of 47 (--max-input-bytes)"),
    ("mlp", ["-o", "{dir}/no/such/dir/out.npz"], "the directory"),
])
def test_data_errors_exit_1_with_one_line(model, args, message, models, files):
    names = {k: v for k, v in files.items() if k != "dir"} | {"x_npz": files["dir"] / "x.npz"}
    before = sorted(files["dir"].iterdir())
    proc = gtcli("run", models[model], *[a.format(dir=files["dir"], **names) for a in args])
    assert message in one_line_error(proc, 1, "run")
    assert sorted(files["dir"].iterdir()) == before


def test_max_input_bytes_raises_the_cap(models):
    proc = gtcli("run", models["mlp"], "--max-input-bytes", "48", "--json")
    assert proc.returncode == 0, proc.stderr
    proc = gtcli("run", models["mlp"], "--max-input-bytes", "1K")
    assert proc.returncode == 0, proc.stderr


def test_scalar_inputs_convert_like_python(models, files, tmp_path):
    """An int array feeds a float argument (as Python's 2 does); a byte-swapped array is read."""
    out = tmp_path / "o.npz"
    proc = gtcli("run", models["scale"], "--inputs", files["scale_int_for_float"], "-o", out)
    assert proc.returncode == 0, proc.stderr
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(np.load(out)["output"], x * 2.0)
    proc = gtcli("run", models["mlp"], "--input", f"x={files['big_endian']}", "-o", out)
    assert proc.returncode == 0, proc.stderr
    want = traced_mlp()(gt.from_numpy(np.arange(12, dtype=np.float32).reshape(3, 4)))
    np.testing.assert_allclose(np.load(out)["output"], want.detach().numpy(), rtol=1e-6)


def test_run_returns_buffers_attributes_and_tensor_defaults(models, tmp_path):
    out = tmp_path / "o.npz"
    x = np.arange(3, dtype=np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    proc = gtcli("run", models["returns"], "--inputs", tmp_path / "in.npz", "-o", out)
    assert proc.returncode == 0, proc.stderr
    got = np.load(out)
    eager = Returns()
    with gt.no_grad():
        table, count, bias, doubled = eager(gt.from_numpy(x))
    np.testing.assert_array_equal(got["output0"], table.numpy())
    assert got["output1"] == count == 7
    np.testing.assert_array_equal(got["output2"], bias.numpy())
    np.testing.assert_array_equal(got["output3"], doubled.numpy())


# -- -o writes exactly the file named ----------------------------------------------------------
def test_run_output_is_exactly_the_named_file(models, tmp_path):
    out = tmp_path / "outputs"                     # no .npz: numpy.savez would append one
    assert gtcli("run", models["mlp"], "-o", out).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outputs"]
    assert np.load(out)["output"].shape == (3, 2)


def test_optimize_output_is_exactly_the_named_file(models, tmp_path):
    out = tmp_path / "optimized"
    assert gtcli("optimize", models["mlp"], "-o", out).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["optimized"]
    assert gtcli("inspect", out).returncode == 0


def test_optimize_in_place_replaces_only_the_model(models, tmp_path):
    model = tmp_path / "m.gt"
    model.write_bytes(models["mlp"].read_bytes())
    model.chmod(0o640)
    assert gtcli("optimize", model, "-o", model).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.gt"]
    assert model.stat().st_mode & 0o777 == 0o640
    assert gtcli("run", model).returncode == 0


# -- closed pipe, timeout, interrupt ---------------------------------------------------------
@pytest.mark.parametrize("args", [["inspect", "{mlp}", "--graph"], ["inspect", "{mlp}", "--json"],
                                  ["run", "{mlp}"], ["env"], ["--help"]])
def test_a_closed_stdout_ends_quietly(args, models):
    read, write = os.pipe()
    os.close(read)                              # the reader is gone before the first write
    try:
        proc = gtcli(*[a.format(**models) for a in args], stdout=write)
    finally:
        os.close(write)
    assert proc.stderr == ""
    assert proc.returncode in (0, 141)          # 141: 128 + SIGPIPE; --help: argparse's own


def test_head_of_the_output_ends_quietly(models):
    """``graphtorch inspect m.gt --graph | head -c 1`` through a real shell pipeline."""
    cmd = (f"set -o pipefail; {sys.executable} -m graphtorch inspect {models['mlp']} --graph "
           f"--code | head -c 1 >/dev/null")
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert proc.stderr == ""
    assert proc.returncode in (0, 141)       # 0 when everything fit the pipe before head left


@pytest.fixture(scope="module")
def spin(tmp_path_factory) -> Path:
    @gt.jit.script
    def spin(x, n: int):
        for _ in range(n):
            x = x + 1.0
        return x

    path = tmp_path_factory.mktemp("spin") / "spin.gt"
    save(spin, path)
    return path


def test_timeout_stops_a_long_run_with_one_line(spin, tmp_path):
    np.savez(tmp_path / "in.npz", x=np.zeros(3, np.float32), n=np.int64(10**9))
    out = tmp_path / "o.npz"
    proc = gtcli("run", spin, "--inputs", tmp_path / "in.npz", "--timeout", "0.5", "-o", out)
    line = one_line_error(proc, 124, "run")
    assert line == "graphtorch run: error: timed out after 0.5 s (--timeout 0.5)\n"
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npz"]


def test_timeout_stops_profile_too(spin, tmp_path):
    np.savez(tmp_path / "in.npz", x=np.zeros(3, np.float32), n=np.int64(10**9))
    proc = gtcli("profile", spin, "--inputs", tmp_path / "in.npz", "--timeout", "0.5")
    line = one_line_error(proc, 124, "profile")
    assert line == "graphtorch profile: error: timed out after 0.5 s (--timeout 0.5)\n"


def test_timeout_leaves_a_run_that_finishes_alone(spin, tmp_path):
    np.savez(tmp_path / "in.npz", x=np.zeros(3, np.float32), n=np.int64(4))
    out = tmp_path / "o.npz"
    proc = gtcli("run", spin, "--inputs", tmp_path / "in.npz", "--timeout", "600", "-o", out)
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(np.load(out)["output"], np.full(3, 4.0, np.float32))


def test_timeout_ends_a_command_stuck_in_native_code(tmp_path):
    """The watchdog: the alarm cannot interrupt a native call (blocked here), so the process
    ends with the same one line and status after the grace period."""
    script = tmp_path / "stuck.py"
    script.write_text(
        "import signal, sys, time\n"
        "from graphtorch.cli import deadline as cli_deadline\n"
        "cli_deadline.GRACE_S = 0.2\n"
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\n"
        "cli_deadline.start(0.2, 'graphtorch run: error: timed out after 0.2 s (--timeout 0.2)')\n"
        "time.sleep(600)\n"
        "sys.exit(3)\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 124
    assert proc.stderr == "graphtorch run: error: timed out after 0.2 s (--timeout 0.2)\n"


def test_ctrl_c_is_one_line_and_130(spin, tmp_path):
    np.savez(tmp_path / "in.npz", x=np.zeros(3, np.float32), n=np.int64(100))
    proc = subprocess.Popen([sys.executable, "-m", "graphtorch", "run", str(spin), "--inputs",
                             str(tmp_path / "in.npz"), "--iters", "100000000", "--progress",
                             "always"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=ROOT)
    try:
        # NOTE: the progress bar's first bytes say the command runs: Ctrl-C meets the handler
        assert proc.stderr.read(1) == b"\r"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert stdout == b"" and b"Traceback" not in stderr
    *progress, line = stderr.decode().split("\r")     # the bar is cleared before the line
    assert line == "graphtorch run: interrupted\n"
    assert progress[-1].strip() == ""


def test_warnings_are_one_line_each(monkeypatch, capsys):
    """In process: a warning raised by a command is one ``graphtorch <command>: warning:``
    line, and the interpreter's warning display is restored afterwards."""
    def env_that_warns(args) -> int:
        warnings.warn("careful:\n  two lines", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(cli, "cmd_env", env_that_warns)
    shown_before = warnings.showwarning
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert cli.main(["env"]) == 0
    assert capsys.readouterr().err == "graphtorch env: warning: UserWarning: careful: two lines\n"
    assert warnings.showwarning is shown_before


def test_run_output_to_dev_null_leaves_dev_null_alone(models):
    proc = gtcli("run", models["mlp"], "-o", "/dev/null")
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
