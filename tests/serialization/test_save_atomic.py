"""Saving replaces a file atomically: a crash of the saving process (killed mid-save, an error
inside the write) leaves the old archive intact and no temporary file for long; an overwrite
keeps the file's mode; errors name the target."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.archive import atomic_file, load, save
from graphtorch.errors import SaveError
from tests.serialization.models import traced_mlp

ROOT = Path(__file__).resolve().parents[2]


def _outputs(path: Path) -> np.ndarray:
    x = gt.from_numpy(np.arange(12, dtype=np.float32).reshape(3, 4))
    return load(path)(x).detach().numpy()


def _temps(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if atomic_file.TEMP_MARK in p.name)


@pytest.fixture
def old_archive(tmp_path) -> Path:
    path = tmp_path / "model.gt"
    save(traced_mlp(seed=0), path)
    return path


def test_a_save_killed_mid_write_leaves_the_old_file_and_the_next_save_cleans_up(old_archive):
    """The child is killed (SIGKILL) after writing every byte of the temporary file but before
    the rename; the old archive is untouched; the next save into the directory removes the
    dead process's temporary file."""
    old_bytes = old_archive.read_bytes()
    script = (
        "import os, sys, time\n"
        "from graphtorch.archive import save\n"
        "from tests.serialization.models import traced_mlp\n"
        "def stuck(fd):\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(600)\n"
        "os.fsync = stuck\n"
        f"save(traced_mlp(seed=1), {str(old_archive)!r})\n")
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=ROOT,
                             text=True)
    try:
        assert child.stdout.readline() == "writing\n"
        [temp] = _temps(old_archive.parent)
        assert temp.startswith(".model.gt.gt-tmp-")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert _temps(old_archive.parent) == [temp]              # the crash left it behind
    assert old_archive.read_bytes() == old_bytes
    np.testing.assert_array_equal(_outputs(old_archive), traced_mlp(seed=0)(
        gt.from_numpy(np.arange(12, dtype=np.float32).reshape(3, 4))).detach().numpy())
    save(traced_mlp(seed=2), old_archive.parent / "other.gt")  # any save into the directory
    assert _temps(old_archive.parent) == []
    assert old_archive.read_bytes() == old_bytes


def test_an_error_inside_the_write_leaves_the_old_file_and_no_temp(old_archive, monkeypatch):
    old_bytes = old_archive.read_bytes()

    def failing_fsync(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(atomic_file.os, "fsync", failing_fsync)
    with pytest.raises(SaveError) as info:
        save(traced_mlp(seed=1), old_archive)
    assert info.value.filename == str(old_archive) and info.value.errno == errno.EIO
    assert str(old_archive) in str(info.value) and "Input/output error" in str(info.value)
    assert old_archive.read_bytes() == old_bytes
    assert _temps(old_archive.parent) == []


def test_an_exception_of_the_writer_propagates_after_the_clean_up(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def write(f):
        f.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_file.replace_file(target, write)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_overwrite_keeps_the_mode_and_a_new_file_follows_the_umask(tmp_path):
    path = tmp_path / "m.gt"
    save(traced_mlp(), path)
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    path.chmod(0o640)
    save(traced_mlp(seed=1), path)
    assert path.stat().st_mode & 0o777 == 0o640
    path.chmod(0o600)
    save(traced_mlp(seed=2), path)
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_symlink_stays_and_its_target_is_replaced(tmp_path):
    real = tmp_path / "real.gt"
    save(traced_mlp(seed=0), real)
    link = tmp_path / "link.gt"
    link.symlink_to(real)
    save(traced_mlp(seed=1), link)
    assert link.is_symlink() and link.resolve() == real.resolve()
    np.testing.assert_array_equal(_outputs(real), _outputs(link))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.gt", "real.gt"]


def test_errors_name_the_target(tmp_path):
    missing_dir = tmp_path / "no" / "such" / "m.gt"
    with pytest.raises(SaveError) as info:
        save(traced_mlp(), missing_dir)
    assert info.value.errno == errno.ENOENT and info.value.filename == str(missing_dir)
    assert isinstance(info.value, OSError)
    with pytest.raises(SaveError) as info:
        save(traced_mlp(), tmp_path)
    assert info.value.errno == errno.EISDIR and info.value.filename == str(tmp_path)
    assert "directory" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_temps_of_live_processes_and_other_hosts_are_kept(tmp_path):
    alive = tmp_path / f".a.gt.gt-tmp-{os.getppid()}.{atomic_file._HOST}.0123abcd"
    own = tmp_path / atomic_file.temp_name("b.gt")
    other_host = tmp_path / ".c.gt.gt-tmp-999999999.ffffffff.0123abcd"
    if atomic_file._HOST == "ffffffff":      # pragma: no cover - the one host it would match
        other_host = tmp_path / ".c.gt.gt-tmp-999999999.00000000.0123abcd"
    unrelated = tmp_path / ".d.gt-tmp-notours"
    for p in (alive, own, other_host, unrelated):
        p.write_bytes(b"x")
    assert atomic_file.remove_stale_temps(tmp_path) == []
    dead = _dead_pid()
    stale = tmp_path / f".e.gt.gt-tmp-{dead}.{atomic_file._HOST}.0123abcd"
    stale.write_bytes(b"x")
    assert atomic_file.remove_stale_temps(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (alive, own, other_host, unrelated))


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_long_target_names_get_a_temp_name_within_name_max(tmp_path):
    path = tmp_path / ("m" * 250 + ".gt")
    save(traced_mlp(), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    assert len(atomic_file.temp_name(path.name).encode()) <= 255


def test_saving_to_a_file_object_is_unchanged(tmp_path):
    path = tmp_path / "m.gt"
    save(traced_mlp(), path)
    with open(tmp_path / "f.gt", "wb") as f:
        save(traced_mlp(), f)
    assert (tmp_path / "f.gt").read_bytes() == path.read_bytes()


def test_devices_and_pipes_are_written_in_place_not_replaced(tmp_path):
    """``save(m, "/dev/null")`` must not rename a regular file over /dev/null; a FIFO gets the
    archive's bytes (written whole: the writer may seek, a pipe cannot)."""
    save(traced_mlp(), "/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    fifo = tmp_path / "pipe.gt"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    save(traced_mlp(), fifo)
    reader.join(timeout=60)
    save(traced_mlp(), tmp_path / "file.gt")
    assert received == [(tmp_path / "file.gt").read_bytes()]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert _temps(tmp_path) == []
