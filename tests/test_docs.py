"""Every ```python block in README.md and docs/*.md runs, in order, in one namespace per file.

A block preceded by `<!-- no-run: reason -->` is skipped; keep those for what cannot run here
(a GPU). Blocks run in a temporary working directory, so files they write go away. Then each
```console block's `$ command` runs in that directory and must print exactly the output shown
(docs/cli.md's `graphtorch inspect` of the archive its Python block saved).
"""

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Fences may be indented (a block inside a list item); the code is dedented by the same amount.
FENCE = re.compile(r"^( *)```(\w*)[^\n]*\n(.*?)^\1```", re.S | re.M)
NO_RUN = re.compile(r"<!--\s*no-run\b[^>]*-->\s*$")


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int
    skipped: bool


def _blocks(path: Path) -> list[Block]:
    text = path.read_text()
    found = []
    for match in FENCE.finditer(text):
        before = text[:match.start()].rstrip("\n")
        last_line = before.rsplit("\n", 1)[-1]
        skipped = bool(NO_RUN.search(last_line))
        indent = len(match.group(1))
        code = "".join(line[indent:] if line[:indent].isspace() else line
                       for line in match.group(3).splitlines(keepends=True))
        found.append(Block(match.group(2), code, text.count("\n", 0, match.start()) + 1, skipped))
    return found


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_no_run_markers_say_why():
    for path in DOC_FILES:
        for marker in re.findall(r"<!--\s*no-run\b([^>]*)-->", path.read_text()):
            assert marker.strip(" :"), f"{_rel(path)}: a no-run marker without a reason"


PYTHON_DOCS = [p for p in DOC_FILES if any(b.lang in ("python", "console") for b in _blocks(p))]


# Each doc runs in its own interpreter: examples may change global switches (jit.set_autodiff),
# register passes or seed generators, and must not leak into other tests.
DRIVER = """
import sys, traceback
namespace = {"__name__": "__main__"}
for path, label in zip(sys.argv[1::2], sys.argv[2::2]):
    try:
        exec(compile(open(path).read(), path, "exec"), namespace)
    except BaseException:
        traceback.print_exc()
        sys.exit(f"the block at {label} failed")
"""


@pytest.mark.parametrize("path", PYTHON_DOCS, ids=_rel)
def test_python_blocks_run(path: Path, tmp_path):
    args = []
    for block in _blocks(path):
        if block.lang != "python" or block.skipped:
            continue
        # A real file per block, so inspect.getsource (jit.script) finds the doc's functions.
        source = tmp_path / f"{path.stem}_line{block.line}.py"
        source.write_text(block.code)
        args += [str(source), f"{_rel(path)}:{block.line}"]
    run = subprocess.run([sys.executable, "-c", DRIVER, *args], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    if run.returncode != 0:
        pytest.fail(run.stderr[-4000:], pytrace=False)
    _check_console_blocks(path, tmp_path)


def _console_sessions(block: Block) -> list[tuple[str, str]]:
    """``$ command`` lines of a ```console block, each with the output shown under it."""
    sessions: list[tuple[str, list[str]]] = []
    for line in block.code.splitlines():
        if line.startswith("$ "):
            sessions.append((line[2:], []))
        elif sessions:
            sessions[-1][1].append(line)
    return [(command, "\n".join(lines)) for command, lines in sessions]


def _check_console_blocks(path: Path, workdir: Path) -> None:
    """Run the ```console blocks' commands where the page's Python ran; the output must match."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    for block in _blocks(path):
        if block.lang != "console" or block.skipped:
            continue
        for command, shown in _console_sessions(block):
            run = subprocess.run(command, shell=True, cwd=workdir, env=env, capture_output=True,
                                 text=True, timeout=60)
            where = f"{_rel(path)}:{block.line}: $ {command}"
            assert run.returncode == 0, f"{where}\n{run.stderr}"
            assert run.stdout.rstrip() == shown.rstrip(), f"{where}\nprinted:\n{run.stdout}"


def _graphtorch_cli() -> list[str]:
    return [sys.executable, "-m", "graphtorch"]     # as docs/cli.md says


def test_readme_links_every_doc():
    readme = (ROOT / "README.md").read_text()
    assert "docs/index.md" in readme
    index = (ROOT / "docs" / "index.md").read_text()
    for doc in sorted((ROOT / "docs").glob("*.md")):
        if doc.name != "index.md":
            assert f"({doc.name})" in index, f"docs/index.md does not list {doc.name}"


def test_doc_links_resolve():
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
    for path in DOC_FILES:
        prose = re.sub(r"`[^`\n]*`", "", FENCE.sub("", path.read_text()))
        for target in link.findall(prose):
            if "://" in target or target.startswith("mailto:"):
                continue
            assert (path.parent / target).exists(), f"{_rel(path)} links to missing {target}"


def test_cli_module_runs():
    run = subprocess.run([*_graphtorch_cli(), "--help"], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert run.returncode == 0, run.stderr
    for command in ("run", "inspect", "profile", "viz", "optimize"):
        assert command in run.stdout
