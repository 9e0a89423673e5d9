"""Loading: validate everything in an archive, then build the ScriptModule tree.

Nothing in the archive is executed: the manifest is data, graphs are parsed IR text, tensors are
views of the mapped file. Every check happens before any object is built, so a bad archive
leaves no half-registered functions behind; every failure is a FormatError naming the member.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field

from graphtorch.archive import manifest as mf
from graphtorch.archive import tensor_file
from graphtorch.archive.graph_checks import GraphChecker
from graphtorch.archive.values import decode_value
from graphtorch.archive.zip_container import ZipArchive
from graphtorch.device import CPU, array_module, as_device
from graphtorch.errors import ArgumentError, DeviceError, FormatError
from graphtorch.frontend.script_module import RecursiveScriptModule, ScriptFunction, TracedModule
from graphtorch.ir.types import TensorType, type_mismatch
from graphtorch.nn.parameter import Parameter
from graphtorch.tensor import Tensor


@dataclass
class LoadedArchive:
    """Everything read and validated from an archive, before any module is built."""

    archive: ZipArchive
    manifest: mf.Manifest
    tensors: TensorStore
    graphs: dict[str, object] = field(default_factory=dict)   # code member -> Graph
    attributes: dict[tuple[str, str], object] = field(default_factory=dict)  # (path, name)


class TensorStore:
    """Tensors of the tensors member by key, made on first use as views of the archive."""

    def __init__(self, archive: ZipArchive, device=None):
        self.device = target_device(device)
        self.buffer = archive.read(mf.TENSORS)
        self.entries, self.metadata, self.data_start = tensor_file.decode_header(
            self.buffer, mf.TENSORS)
        self._made: dict[str, object] = {}

    def entry(self, key: str, where: str) -> tensor_file.TensorEntry:
        try:
            return self.entries[key]
        except KeyError:
            raise FormatError(f"tensor {key!r} (referenced by {where}) is missing",
                              member=mf.TENSORS) from None

    def array(self, key: str, where: str):
        return tensor_file.array_view(self.buffer, self.data_start, self.entry(key, where),
                                      mf.TENSORS)

    def tensor(self, key: str, where: str):
        """One Tensor per key: tied weights stay tied after loading."""
        if key not in self._made:
            arr = self.array(key, where)
            dev = self.device or CPU
            if dev.type == "cuda":
                cp = array_module(dev)
                with cp.cuda.Device(dev.index) if dev.index is not None else nullcontext():
                    arr = cp.asarray(arr)    # one host-to-device copy from the mapping
            self._made[key] = Tensor._wrap(arr, dev)
        return self._made[key]

    @property
    def total_bytes(self) -> int:
        return sum(e.end - e.begin for e in self.entries.values())


def usable_device(spec):
    """The device ``spec`` names, checked to exist here (CuPy, a GPU, the index in range)."""
    dev = as_device(spec)
    if dev.type == "cuda":
        cp = array_module(dev)          # DeviceError when CuPy or the GPU is missing
        count = cp.cuda.runtime.getDeviceCount()
        if dev.index is not None and dev.index >= count:
            raise DeviceError(f"no such CUDA device {str(dev)!r}: this machine has {count} "
                              f"(cuda:0 to cuda:{count - 1})")
    return dev


def target_device(map_location):
    """The device of ``map_location`` (None: tensors stay on the CPU), checked before anything
    is read so that a missing GPU is one precise error, not a failure halfway through."""
    if map_location is None:
        return None
    try:
        return usable_device(map_location)
    except DeviceError as e:
        raise DeviceError(f"load(map_location={map_location!r}): {e}") from None


def read_archive(path_or_file, map_location=None, check_graphs: bool = True) -> LoadedArchive:
    """Open and validate an archive (manifest, tensors header, and every graph)."""
    device = target_device(map_location)
    archive = ZipArchive.open(path_or_file)
    manifest = mf.parse(archive.read(mf.MANIFEST, mf.MAX_MANIFEST_BYTES))
    loaded = LoadedArchive(archive, manifest, TensorStore(archive, device))
    _check_tensor_refs(loaded)
    _check_reserved_names(loaded)
    _decode_attributes(loaded)
    defaults = _decode_defaults(loaded)
    if check_graphs:
        checker = GraphChecker(loaded)
        arg_names = {meth.code: meth.arg_names for _, meth in _methods(manifest)}
        for member, graph in checker.check_all():
            _attach_defaults(graph, arg_names[member], defaults.get(member, {}), member)
            loaded.graphs[member] = graph
    return loaded


def _methods(manifest: mf.Manifest):
    """(where, Method) for every method of every module and every function."""
    if manifest.root is not None:
        for path, entry in manifest.root.walk():
            for meth in entry.methods:
                yield f"module {path or '<root>'}, method {meth.name}", meth
    for f in manifest.functions:
        yield f"function {f.name}", f


def _decode_defaults(loaded: LoadedArchive) -> dict[str, dict[str, object]]:
    """IR member -> {argument name: default value}, for methods that declare defaults."""
    store, out = loaded.tensors, {}
    for where, meth in _methods(loaded.manifest):
        if meth.defaults:
            out[meth.code] = {
                name: decode_value(tagged, lambda k, w=f"{where}, default of {name}":
                                   store.tensor(k, w), f"{where}, default of {name!r}")
                for name, tagged in meth.defaults.items()}
    return out


def _attach_defaults(graph, arg_names: list[str], defaults: dict[str, object],
                     member: str) -> None:
    """Set ``graph.defaults`` (what the executor fills missing arguments from), each value
    checked against the type the IR declares for its argument."""
    if not defaults:
        return
    # NOTE: the checker made the counts agree; arguments are the graph's last inputs
    params = dict(zip(arg_names, graph.inputs[len(graph.inputs) - len(arg_names):]))
    for name, value in defaults.items():
        param = params[name]
        problem = type_mismatch(value, param.type) or _shape_mismatch(value, param.type)
        if problem:
            raise FormatError(f"the default of argument {name!r} does not fit its declared "
                              f"type {param.type}: {problem}", member=member)
    graph.defaults = dict(defaults)


def _shape_mismatch(value, ir_type) -> str | None:
    """Why a default tensor's sizes contradict the sizes its argument type declares."""
    if not isinstance(value, Tensor) or not isinstance(ir_type, TensorType) \
            or ir_type.shape is None:
        return None
    for i, (want, got) in enumerate(zip(ir_type.shape, value.shape)):
        if isinstance(want, int) and want != got:
            return f"got a tensor of shape {list(value.shape)} (size {got} at dim {i})"
    return None


def _check_tensor_refs(loaded: LoadedArchive) -> None:
    store, m = loaded.tensors, loaded.manifest
    if m.root is None:
        return
    for path, entry in m.root.walk():
        where = f"module {path or '<root>'}"
        for p in entry.parameters + entry.buffers:
            store.entry(p.key, f"{where}.{p.name}")
            if p in entry.parameters and p.requires_grad and \
                    not store.entries[p.key].numpy_dtype.kind == "f":
                raise FormatError(f"{where}.{p.name}: only floating point parameters can "
                                  f"require gradients, got {store.entries[p.key].dtype}",
                                  member=mf.MANIFEST)


def _check_reserved_names(loaded: LoadedArchive) -> None:
    """Slots may not shadow what a ScriptModule itself has (``training``, ``forward``,
    ``state_dict`` ...): PyTorch refuses such names too, and the module could not be built."""
    if loaded.manifest.root is None:
        return
    # NOTE: names from the archive are compared with sets, never passed to hasattr/getattr
    reserved = {}
    for kind, probe in (("script", RecursiveScriptModule("__torch__.Probe")),
                        ("trace", TracedModule("__torch__.Probe"))):
        reserved[kind] = set(dir(type(probe))) | set(probe.__dict__)
    for path, entry in loaded.manifest.root.walk():
        taken = reserved[entry.kind]
        slots = ([p.name for p in entry.parameters] + [b.name for b in entry.buffers]
                 + [a.name for a in entry.attributes] + [s.name for s in entry.submodules])
        for name in slots:
            if name in taken:
                raise FormatError(f"module {path or '<root>'}: attribute name {name!r} is "
                                  f"reserved (a ScriptModule has an attribute of that name)",
                                  member=mf.MANIFEST)


def _decode_attributes(loaded: LoadedArchive) -> None:
    if loaded.manifest.root is None:
        return
    store = loaded.tensors
    for path, entry in loaded.manifest.root.walk():
        where = f"module {path or '<root>'}"
        for i, a in enumerate(entry.attributes):
            loaded.attributes[path, a.name] = decode_value(
                a.value, lambda k, w=f"{where}.{a.name}": store.tensor(k, w),
                f"{where}.attributes[{i}] ({a.name})")


def entry_method(loaded: LoadedArchive, method: str = "forward"):
    """(graph, argument names, index of the first argument input) of a loaded archive's entry
    point: the root module's ``method`` (after its ``self`` input), or the entry function."""
    m = loaded.manifest
    if m.root is None:
        f = next(f for f in m.functions if f.name == m.entry_function)
        return loaded.graphs[f.code], f.arg_names, 0
    for meth in m.root.methods:
        if meth.name == method:
            return loaded.graphs[meth.code], meth.arg_names, 1
    names = [x.name for x in m.root.methods]
    raise ArgumentError(f"the model has no method {method!r}; it has {names}")


def load(path_or_file, map_location=None):
    """Load a .gt archive as a ScriptModule (or ScriptFunction) without executing anything."""
    loaded = read_archive(path_or_file, map_location)
    return build(loaded)


def build(loaded: LoadedArchive):
    # NOTE: the archive is one compilation unit: its calls resolve among its own functions
    # (the checker proved every name is here), never through anything else in the process.
    functions = {}
    for f in loaded.manifest.functions:
        graph = loaded.graphs[f.code]
        functions[f.name] = fn = ScriptFunction(f.name, graph, register=False)
        fn._gt_loaded = True
    for graph in loaded.graphs.values():
        graph.functions = functions
    if loaded.manifest.root is None:
        return functions[loaded.manifest.entry_function]
    return _build_module(loaded, loaded.manifest.root, "")


def _build_module(loaded: LoadedArchive, entry: mf.ModuleEntry, path: str):
    cls = TracedModule if entry.kind == "trace" else RecursiveScriptModule
    m = cls(entry.class_name, entry.original_name or None)
    where = f"module {path or '<root>'}"
    store = loaded.tensors
    for p in entry.parameters:
        t = store.tensor(p.key, f"{where}.{p.name}")
        param = t if isinstance(t, Parameter) else Parameter(t, requires_grad=p.requires_grad)
        store._made[p.key] = param      # a tied parameter is the same Parameter everywhere
        m.register_parameter(p.name, param)
    for b in entry.buffers:
        m.register_buffer(b.name, store.tensor(b.key, f"{where}.{b.name}"),
                          persistent=b.persistent)
    for a in entry.attributes:
        m._set_constant(a.name, loaded.attributes[path, a.name])
    for s in entry.submodules:
        m.add_module(s.name, _build_module(loaded, s, f"{path}.{s.name}" if path else s.name))
    for meth in entry.methods:
        graph = loaded.graphs[meth.code]
        m._add_method(meth.name, graph, list(meth.arg_names))
    object.__setattr__(m, "training", entry.training)
    object.__setattr__(m, "_gt_loaded", True)   # outputs checked against the graph's types
    return m
