"""Structure-aware mutation of the victim archive: its IR text (token edits, hostile names,
kinds and types), its manifest (JSON paths: deleted, retyped, renamed, duplicated, hostile
values) and its safetensors header (the same on the header JSON). Seeded; every mutant ends in

* a FormatError at load, or
* a model identical to the victim (same graphs, tensors and attributes) that computes exactly
  the victim's outputs, or
* a different but well-formed model whose call returns or raises a GraphtorchError —

never another exception, never a crash of the loader, never a hostile payload that runs.
"""

from __future__ import annotations

import io
import json
import random
import re
import struct

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.archive import load
from graphtorch.errors import FormatError, GraphtorchError

from .hostile import FORWARD, HOSTILE_NAMES, MANIFEST, MARKER, TENSORS, pack, victim_members

N_MUTANTS = 320
BASE = victim_members()


def _input():
    gt.manual_seed(1)
    return gt.randn(2, 4)


def _signature(model) -> tuple:
    """What makes two loaded victims the same model: graphs, tensors, attributes, mode."""
    graphs, tensors = [], []
    for name, m in model.named_modules():
        for mname, meth in getattr(m, "_gt_methods", {}).items():
            graphs.append((name, mname, str(meth.graph)))
        for cname, value in getattr(m, "_gt_constants", {}).items():
            graphs.append((name, cname, repr(value)))
        graphs.append((name, "training", m.training))
    for key, t in model.state_dict().items():
        tensors.append((key, t.dtype.name, tuple(t.shape), t.detach().numpy().tobytes()))
    return tuple(graphs), tuple(tensors)


ORIGINAL = load(io.BytesIO(pack(BASE)))
SIGNATURE = _signature(ORIGINAL)
OUTPUT = ORIGINAL(_input()).detach().numpy()


def _judge(data: bytes, capfd) -> str:
    """The outcome of one mutant; fails the test on any outcome the module docstring forbids."""
    try:
        model = load(io.BytesIO(data))
    except FormatError:
        return "refused"
    same = _signature(model) == SIGNATURE
    try:
        out = model(_input())
    except GraphtorchError:
        assert not same, "the victim's own model raised"
        return "raised"
    finally:
        assert MARKER not in capfd.readouterr().out
    if same:
        np.testing.assert_array_equal(out.detach().numpy(), OUTPUT)
        return "identical"
    return "different"


# -- IR text -----------------------------------------------------------------------------------
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|%[\w.]+|(?:op|prim|py)::[\w.]+|[A-Za-z_][\w.]*'
                    r"|-?\d+(?:\.\d*)?(?:e-?\d+)?|->|\S")
KINDS = ["prim::GetAttr", "prim::CallMethod", "prim::CallFunction", "prim::DictIndex",
         "prim::ListIndex", "prim::TupleUnpack", "prim::TupleIndex", "prim::format",
         "prim::PythonOp", "prim::str", "prim::unchecked_cast", "op::add", "op::linear",
         "prim::If", "prim::Loop", "prim::Inplace", "py::getattr", "prim::SetAttr"]
TYPES = ["Tensor", "int", "str", "Any", "__torch__.nn.Linear", "(Tensor, Tensor)", "Tensor[]",
         "Dict(str, Tensor)", "Tensor(float32, [3], cuda:7)", "Function(builtins.exec)",
         "__torch__.tests.serialization.hostile_models.Victim", "Tensor?"]
LINES = ['  %m0 : Any = prim::GetAttr[name="{n}"](%self)',
         '  %m1 : Any = prim::CallMethod[name="{n}"](%0)',
         '  %m2 : Any = prim::CallFunction[name="{n}"](%x)',
         '  %m3 : str = prim::Constant[value="{{0.{n}}}"]()',
         '  %m4 : Any = prim::DictIndex(%x, %4)',
         "  %m5 : Tensor, %m6 : Tensor = prim::TupleUnpack(%x)"]


def _mutate_ir(text: str, rng: random.Random) -> str:
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
    s, e = tokens[rng.randrange(len(tokens))]
    tok = text[s:e]
    op = rng.randrange(9)
    if op == 0:
        new = ""                                               # delete
    elif op == 1:
        new = tok + " " + tok                                  # duplicate
    elif op == 2:
        s2, e2 = tokens[rng.randrange(len(tokens))]
        new = text[s2:e2]                                      # another token here
    elif op == 3:
        new = f'"{rng.choice(HOSTILE_NAMES)}"' if tok.startswith('"') else rng.choice(
            HOSTILE_NAMES)                                     # a hostile name
    elif op == 4:
        new = rng.choice(KINDS) if "::" in tok else tok        # another kind
    elif op == 5:
        new = rng.choice(TYPES) if re.fullmatch(r"[A-Za-z_][\w.]*", tok) else tok
    elif op == 6:
        new = str(rng.choice([0, -1, 3, 2**63, 10**30, "1e308", "nan"]))   # another number
    elif op == 7:                                              # a hostile line
        line = rng.choice(LINES).format(n=rng.choice(HOSTILE_NAMES))
        i = text.index("\n", rng.randrange(len(text) - 20)) + 1
        return text[:i] + line + "\n" + text[i:]
    else:
        new = "%" + rng.choice(["self", "x", "0", "1", "h", "pair", "a", "5"]) \
            if tok.startswith("%") else tok                    # another value
    return text[:s] + new + text[e:]


@pytest.mark.parametrize("member_kind", ["forward", "callee"])
def test_ir_mutants(member_kind, capfd):
    rng = random.Random(1234 if member_kind == "forward" else 4321)
    members = [m for m in BASE if m.endswith(".gtir")]
    outcomes: dict[str, int] = {}
    for _ in range(N_MUTANTS // 2):
        member = FORWARD if member_kind == "forward" else rng.choice(members)
        text = BASE[member].decode()
        for _ in range(rng.choice([1, 1, 2, 3])):
            text = _mutate_ir(text, rng)
        outcome = _judge(pack({**BASE, member: text.encode()}), capfd)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("refused", 0) > N_MUTANTS // 4, outcomes


# -- JSON (manifest and safetensors header) ---------------------------------------------------
HOSTILE_VALUES = [None, 0, -1, 2**70, 1.5, True, "", "__class__", "cuda:99999", [], {},
                  [[[]]], {"tensor": "lin.weight"}, {"device": "cuda:" + "9" * 40},
                  {"int": 2**80}, "x" * 300, {"str": "{0.__class__}"}, ["F32"], {"F32": 1}]


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


def _mutate_json(obj, rng: random.Random):
    paths = [p for p in _paths(obj) if p]
    path = rng.choice(paths)
    parent = obj
    for k in path[:-1]:
        parent = parent[k]
    key = path[-1]
    op = rng.randrange(6)
    if op == 0:
        parent[key] = rng.choice(HOSTILE_VALUES)               # retype / hostile value
    elif op == 1:
        if isinstance(parent, dict):
            del parent[key]                                    # delete a field
        else:
            parent.pop(key)
    elif op == 2 and isinstance(parent, dict):
        parent[rng.choice(HOSTILE_NAMES)] = parent.pop(key)    # rename a field
    elif op == 3 and isinstance(parent, list):
        parent.insert(key, json.loads(json.dumps(parent[key])))   # duplicate an element
    elif op == 4 and isinstance(parent[key], str):
        parent[key] = rng.choice([*HOSTILE_NAMES, parent[key] + ".x", parent[key][:-1]])
    elif op == 5 and isinstance(parent[key], int) and not isinstance(parent[key], bool):
        parent[key] = rng.choice([parent[key] + 1, parent[key] - 1, -parent[key], 2**64])
    else:
        parent[key] = rng.choice(HOSTILE_VALUES)
    return obj


def test_manifest_mutants(capfd):
    rng = random.Random(99)
    outcomes: dict[str, int] = {}
    for _ in range(N_MUTANTS):
        obj = json.loads(BASE[MANIFEST])
        for _ in range(rng.choice([1, 1, 2])):
            obj = _mutate_json(obj, rng)
        outcome = _judge(pack({**BASE, MANIFEST: json.dumps(obj).encode()}), capfd)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("refused", 0) > N_MUTANTS // 3, outcomes


def test_safetensors_header_mutants(capfd):
    rng = random.Random(7)
    raw = BASE[TENSORS]
    (n,) = struct.unpack("<Q", raw[:8])
    outcomes: dict[str, int] = {}
    for i in range(N_MUTANTS):
        header = json.loads(raw[8:8 + n])
        for _ in range(rng.choice([1, 1, 2])):
            header = _mutate_json(header, rng)
        hb = json.dumps(header).encode()
        hb += b" " * (-(8 + len(hb)) % 64)
        length = len(hb) if i % 10 else rng.choice([0, 7, len(hb) + 64, 2**63])
        data = struct.pack("<Q", length) + hb + raw[8 + n:]
        outcome = _judge(pack({**BASE, TENSORS: data}), capfd)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("refused", 0) > N_MUTANTS // 3, outcomes
