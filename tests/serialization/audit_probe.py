"""Run in a fresh interpreter by test_audit_hook.py: loads (and, where loadable, calls) every
archive of the hostile corpus and the victim under an audit hook (sys.addaudithook), and prints
as JSON every event through which an archive-derived string reached Python's dynamic machinery:
exec/compile of text holding one (not a module's source file), a restricted attribute read
(``__code__`` ...) or write, an import, unpickling, or a process start. ``getattr``/``setattr``
raise no audit event, so the builtins are wrapped to report calls naming an attacker's name.

A control phase first makes such events on purpose: the parent checks that the hook saw them,
so a hook that sees nothing cannot pass the test.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import sys

import graphtorch as gt
from graphtorch.archive import load
from graphtorch.errors import FormatError
from graphtorch.runtime import cpu_codegen
from tests.serialization.hostile import HOSTILE_NAMES, MARKER, corpus, pack, victim_members

VICTIM_LABEL = "gt-victim-label"          # a string constant of the victim archive
TEXT_MARKERS = (MARKER, VICTIM_LABEL, "__globals__", "__builtins__")
ALWAYS = ("pickle.find_class", "marshal.loads", "os.system", "os.exec", "os.posix_spawn",
          "os.spawn", "subprocess.Popen", "ctypes.dlopen", "code.__new__")
seen: list[list[str]] = []
phase = ["control"]


def _text(obj) -> str:
    if isinstance(obj, str):
        return obj
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).decode("utf-8", "replace")
    consts = getattr(obj, "co_consts", None)
    if consts is not None:
        return " ".join(_text(c) for c in consts)
    return ""


def hook(event: str, args: tuple) -> None:
    hit = None
    if event in ("object.__getattr__", "object.__setattr__", "object.__delattr__"):
        if len(args) > 1 and args[1] in HOSTILE_NAMES:
            hit = args[1]
    elif event in ("exec", "compile"):
        if not _from_a_file(event, args):
            text = _text(args[0]) if args else ""
            hit = next((m for m in TEXT_MARKERS if m in text), None)
    elif event == "import":
        name = str(args[0]) if args else ""
        hit = next((m for m in (MARKER, *HOSTILE_NAMES) if m == name), None)
    elif event.startswith(ALWAYS):
        hit = event
    if hit is not None:
        seen.append([phase[0], event, str(hit)])


def _from_a_file(event: str, args: tuple) -> bool:
    """A module's own source being compiled on import (not text from an archive)."""
    if event == "compile":
        name = args[1] if len(args) > 1 else None
    else:
        name = getattr(args[0], "co_filename", None) if args else None
    return isinstance(name, str) and os.path.isfile(name)


_getattr, _setattr = builtins.getattr, builtins.setattr


def audited_getattr(obj, name, *default):
    if name in HOSTILE_NAMES or MARKER in str(name):
        seen.append([phase[0], "getattr", str(name)])
    return _getattr(obj, name, *default)


def audited_setattr(obj, name, value):
    if name in HOSTILE_NAMES or MARKER in str(name):
        seen.append([phase[0], "setattr", str(name)])
    return _setattr(obj, name, value)


def call(model, executor: str) -> None:
    cpu_codegen.set_executor(executor)
    try:
        model(gt.randn(2, 4))
        with gt.no_grad():  # NOTE: compiled plans run without grad, built on the second call
            for _ in range(3):
                model(gt.randn(2, 4))
    finally:
        cpu_codegen.set_executor(None)


def run_all(cases: dict, victim: bytes) -> int:
    refused = 0
    for name, (data, _) in sorted(cases.items()):
        phase[0] = f"hostile:{name}"
        try:
            model = load(io.BytesIO(data))
        except FormatError:
            refused += 1
            continue
        for executor in cpu_codegen.EXECUTORS:
            call(model, executor)
    for executor in cpu_codegen.EXECUTORS:
        phase[0] = f"victim:{executor}"
        call(load(io.BytesIO(victim)), executor)
    return refused


def main() -> None:
    cases = corpus()
    victim = pack(victim_members())
    # NOTE: a first run without the hook does the lazy imports (module source compiled and
    # unmarshalled, library getattr calls); archives are loaded afresh each run, so whatever an
    # archive makes happen, it makes happen again in the audited run
    run_all(cases, victim)
    phase[0] = "control"
    sys.addaudithook(hook)
    builtins.getattr, builtins.setattr = audited_getattr, audited_setattr
    # control: the very events the test forbids, made on purpose
    exec(compile(f"'{MARKER}'", "<control>", "eval"))      # noqa: S102 - the control phase
    getattr(main, "__globals__")  # noqa: B009 - through the wrapped builtin, on purpose
    _getattr(main, "__code__")     # a restricted read: CPython audits it
    refused = run_all(cases, victim)
    print(json.dumps({"seen": seen, "refused": refused, "cases": len(cases),
                      "executors": list(cpu_codegen.EXECUTORS)}))


if __name__ == "__main__":
    main()
