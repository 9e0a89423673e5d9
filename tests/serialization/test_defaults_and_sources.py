"""Format 1.1: argument defaults survive save/load; source paths in archives are portable."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import textwrap

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.archive import archive_members, load, save
from graphtorch.archive.source_paths import portable_graph, portable_path
from graphtorch.errors import FormatError, UnsupportedError

from .archive_edit import pack
from .models import DEFAULTS, scale_by, scripted_defaults, traced_mlp


def _bytes(m) -> bytes:
    buf = io.BytesIO()
    save(m, buf)
    return buf.getvalue()


def _manifest(ms: dict[str, bytes]) -> dict:
    return json.loads(ms["graphtorch.json"])


# -- defaults ----------------------------------------------------------------------------------
def test_method_defaults_are_in_the_manifest():
    meth = _manifest(archive_members(scripted_defaults()))["root"]["methods"][0]
    assert meth["defaults"] == {"k": {"float": 0.5}, "n": {"int": 2}, "square": {"bool": False}}
    assert "k : float = 0.5, n : int = 2, square : bool = False" in meth["signature"]


def test_methods_without_defaults_write_no_field():
    manifest = _manifest(archive_members(traced_mlp()))
    assert all("defaults" not in m for m in manifest["root"]["methods"])


def test_loaded_module_calls_with_defaults_like_the_original():
    m = scripted_defaults()
    m2 = load(io.BytesIO(_bytes(m)))
    assert m2._gt_methods["forward"].graph.defaults == DEFAULTS
    x = gt.randn(3, 4)
    for args, kwargs in [((), {}), ((2.0,), {}), ((2.0, 5), {}), ((), {"square": True}),
                         ((1.5,), {"n": -1, "square": True})]:
        want = m(x, *args, **kwargs).detach().numpy()
        got = m2(x, *args, **kwargs).detach().numpy()
        np.testing.assert_array_equal(got, want)
    # and the defaults are really used: k=0.5, n=2 differ from k=1, n=0
    assert not np.allclose(m2(x).detach().numpy(), m2(x, 1.0, 0).detach().numpy())


def test_function_defaults_round_trip():
    fn2 = load(io.BytesIO(_bytes(scale_by)))
    x = gt.randn(5)
    np.testing.assert_allclose(fn2(x).numpy(), (x * 3.0).numpy())
    np.testing.assert_allclose(fn2(x, 0.5).numpy(), (x * 0.5).numpy())


def test_tensor_default_is_stored_in_the_tensors_member():
    m = traced_mlp()
    graph = m._gt_methods["forward"].graph
    graph.defaults = {"x": gt.arange(12, dtype=gt.float32).reshape(3, 4)}
    ms = archive_members(m)
    key = _manifest(ms)["root"]["methods"][0]["defaults"]["x"]["tensor"]
    assert key == "code/forward.gtir:default:x"
    m2 = load(io.BytesIO(pack(ms)))
    np.testing.assert_array_equal(m2().detach().numpy(), m(graph.defaults["x"]).detach().numpy())
    assert _bytes(m2) == pack(ms)


def test_defaults_are_deterministic():
    first = _bytes(scripted_defaults())
    assert _bytes(scripted_defaults()) == first
    assert _bytes(load(io.BytesIO(first))) == first


def test_unserializable_default_refuses_to_save():
    m = scripted_defaults()
    m._gt_methods["forward"].graph.defaults = {"k": object()}
    with pytest.raises(FormatError, match=r"default value of argument 'k' of Defaults\.forward"):
        _bytes(m)


def test_default_for_unknown_argument_refuses_to_save():
    m = scripted_defaults()
    m._gt_methods["forward"].graph.defaults = {"nope": 1}
    with pytest.raises(UnsupportedError, match="graph.defaults names 'nope'"):
        _bytes(m)


def _with_defaults(defaults) -> bytes:
    ms = archive_members(scripted_defaults())
    obj = json.loads(ms["graphtorch.json"])
    obj["root"]["methods"][0]["defaults"] = defaults
    ms["graphtorch.json"] = json.dumps(obj).encode()
    return pack(ms)


@pytest.mark.parametrize("defaults, message", [
    ({"zz": {"int": 1}}, "root.methods[0].defaults: 'zz' is not one of the arguments"),
    ({"n": {"int": "two"}}, "module <root>, method forward, default of 'n': int value expected"),
    ({"n": {"float": 2.5}}, "code/forward.gtir: the default of argument 'n' does not fit its "
                            "declared type int"),
    ({"k": {"tensor": "missing"}}, "tensor 'missing' (referenced by module <root>, method "
                                   "forward, default of k) is missing"),
    ([1, 2], "root.methods[0].defaults: expected an object, got an array"),
])
def test_bad_defaults_are_format_errors(defaults, message):
    with pytest.raises(FormatError) as info:
        load(io.BytesIO(_with_defaults(defaults)))
    assert message in str(info.value)


# -- portable source paths ---------------------------------------------------------------------
def test_portable_path_keeps_the_package_path(tmp_path):
    pkg = tmp_path / "proj" / "pkg" / "sub"
    pkg.mkdir(parents=True)
    (tmp_path / "proj" / "pkg" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    assert portable_path(str(pkg / "model.py")) == "pkg/sub/model.py"
    assert portable_path(str(tmp_path / "proj" / "script.py")) == "script.py"
    assert portable_path("pkg/sub/model.py") == "pkg/sub/model.py"   # already portable
    assert portable_path("<stdin>") == "<stdin>"


SOURCE = textwrap.dedent("""
    import graphtorch as gt
    from graphtorch import nn


    class Portable(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, x: gt.Tensor) -> gt.Tensor:
            return gt.relu(self.lin(x)) * 2
""")


def _compile_from(directory) -> bytes:
    """The same model file compiled from a given checkout directory."""
    from graphtorch.frontend.script.api import script_module

    directory.mkdir(parents=True)
    path = directory / "portable_model.py"
    path.write_text(SOURCE)
    spec = importlib.util.spec_from_file_location("portable_model", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["portable_model"] = module
    try:
        spec.loader.exec_module(module)
        gt.manual_seed(0)
        m = script_module(module.Portable())
    finally:
        del sys.modules["portable_model"]
    graph = m._gt_methods["forward"].graph
    assert str(path) in str(graph)                     # the live graph keeps its real path
    data = _bytes(m)
    assert str(path) in str(graph)                     # ... saving does not change it
    assert str(directory).encode() not in data
    assert b"# portable_model.py:" in data             # file name, line and column kept
    return data


def test_archive_bytes_do_not_depend_on_the_checkout_path(tmp_path):
    a = _compile_from(tmp_path / "checkout_a")
    b = _compile_from(tmp_path / "elsewhere" / "checkout_b")
    assert a == b


def test_portable_graph_leaves_relative_graphs_alone():
    m2 = load(io.BytesIO(_bytes(traced_mlp())))
    graph = m2._gt_methods["forward"].graph
    assert portable_graph(graph) is graph
    assert "# tests/serialization/models.py:" in str(graph)
