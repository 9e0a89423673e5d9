"""Function overloads (``graphtorch.jit._overload``), TorchScript's form of ``typing.overload``.

Declarations (bodies ``pass`` or ``...``) give signatures; the next ``def`` of the same name is the
implementation. A scripted call picks the declaration its argument types match and calls the
implementation compiled with that declaration's parameter and return types (one compiled
function per declaration, made on first use). Matching is by the types of the arguments, with
no conversion (each argument's type a subtype of the parameter's: an ``int`` is no ``float``
here, as in TorchScript); anything but exactly one match is a ScriptError at the call. In Python the
implementation runs as is.

Declarations are kept by qualified name until an implementation is first called from script,
which then owns them (later declarations of that name add to the one called next, as in
TorchScript; a def statement run again replaces its earlier declaration). Parameters the
implementation has beyond a declaration's must have a default and a type; a default the
implementation gives applies to a declaration's parameter when it has the parameter's type; a
default a declaration repeats must equal the implementation's.
"""

from __future__ import annotations

import builtins
import inspect
import weakref

from graphtorch.errors import ScriptError
from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script import unit as _unit  # NOTE: unit -> calls -> here: a cycle
from graphtorch.frontend.script.annotations import resolve, signature_types
from graphtorch.frontend.script.defaults import parameter_defaults
from graphtorch.ir import types as T

# qualified name -> declarations not yet owned by an implementation
_PENDING: dict[str, list] = {}
# implementation -> [[declaration, its compiled specialization or None until first used]]
_OWNED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _qualified(fn) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def overload(fn):
    """``@graphtorch.jit._overload``: declare one signature of the function defined next."""
    _check_body(fn, "method" if getattr(fn, "_gt_overload_method", False) else "function")
    fn._gt_overload_decl = True
    pending = _PENDING.setdefault(_qualified(fn), [])
    # NOTE: the same def statement run again (its enclosing function called twice) makes the
    # same declaration again: it replaces the earlier one instead of adding a duplicate
    pending[:] = [d for d in pending if d.__code__ is not fn.__code__]
    pending.append(fn)
    return fn


def overload_method(fn):
    """``@graphtorch.jit._overload_method``: declare one signature of a module method (the
    method of the same name after the declarations implements them). A scripted call of the
    method on a submodule compiles one method per declaration; the module's own compiled
    methods do not include the overloaded one."""
    fn._gt_overload_method = True
    return overload(fn)


def _check_body(fn, what: str) -> None:
    src, fdef = _unit.parse_function(fn)
    body = [s for s in fdef.body
            if not (isinstance(s, S.ExprStmt) and isinstance(s.value, S.Constant)
                    and (s.value.value is Ellipsis or isinstance(s.value.value, str)))]
    if any(not isinstance(s, S.Pass) for s in body):
        bad = next(s for s in body if not isinstance(s, S.Pass))
        raise src.error(f"the body of an overload declaration of {what} {fn.__qualname__} "
                        f"must be `pass` or `...`", bad.pos,
                        "declarations give signatures only; write the code in the "
                        "implementation, the def of the same name after them")


def declarations(fn):
    """The overload declarations ``fn`` implements (claiming those pending under its name),
    or None when it has none."""
    if not inspect.isfunction(fn):
        return None
    owned = _OWNED.get(fn)
    pending = _PENDING.pop(_qualified(fn), None) if not getattr(fn, "_gt_overload_decl",
                                                                  False) else None
    if pending:
        owned = (owned or []) + [[d, None] for d in pending]
        _OWNED[fn] = owned
    return owned


def is_unimplemented_declaration(fn) -> bool:
    return getattr(fn, "_gt_overload_decl", False)


def overloaded_method(cls, name: str) -> bool:
    """Whether the method ``name`` of the module class ``cls`` has overload declarations (then
    it is compiled per call, never as itself); a declaration without implementation raises."""
    fn = getattr(cls, name, None)
    if getattr(fn, "_gt_overload_decl", False):
        src, fdef = _unit.parse_function(fn)
        raise src.error(f'Implementation for the method "{fn.__qualname__}" is missing: the '
                        f'class holds only overload declarations of it', fdef.pos,
                        "define the implementation, a def of the same name after the "
                        "declarations")
    return inspect.isfunction(fn) and bool(declarations(fn))


def refuse_direct_script(fn) -> None:
    """``graphtorch.jit.script`` of an overloaded function or a declaration is refused."""
    if getattr(fn, "_gt_overload_decl", False):
        raise ScriptError(f"{fn.__qualname__} is an overload declaration and cannot be "
                          f"compiled", hint="define its implementation (a def of the same name "
                          "after the declarations) and script a function that calls it")
    if declarations(fn):
        raise ScriptError(f"the overloaded function {fn.__qualname__} cannot be directly "
                          f"compiled: which declaration applies depends on a call's arguments",
                          hint="script a function that calls it")


class _Signature:
    """One declaration merged with the implementation: parameters (name, type, default)."""

    def __init__(self, decl, impl, method: bool = False):
        self.decl = decl
        dsrc, dfdef = _unit.parse_function(decl)
        isrc, ifdef = _unit.parse_function(impl)
        dtypes, self.ret = _types(dsrc, dfdef, decl, method)
        itypes, _ = _types(isrc, ifdef, impl, method)
        skip = 1 if method else 0   # a method's self is no declared parameter
        dnames = [p.name for p in dfdef.params][skip:]
        inames = [p.name for p in ifdef.params][skip:]
        if len(dnames) > len(inames) or inames[:len(dnames)] != dnames:
            raise dsrc.error(f"the overload declaration of {decl.__qualname__} has the "
                             f"parameters ({', '.join(dnames)}), which are not the first of the "
                             f"implementation's ({', '.join(inames)})", dfdef.pos,
                             "declare the implementation's parameters, by the same names, in "
                             "the same order")
        idefaults, ddefaults = parameter_defaults(impl), parameter_defaults(decl)
        for name, d in ddefaults.items():
            if name not in idefaults or idefaults[name] != d:
                raise dsrc.error(f"the default of '{name}' in an overload declaration of "
                                 f"{decl.__qualname__} must equal to the default parameter of "
                                 f"the implementation ({idefaults.get(name, 'none')})",
                                 dfdef.pos, "repeat the implementation's default or leave it out")
        self.params: list[tuple[str, T.Type, bool, object]] = []
        for name in dnames:
            t, d = dtypes.get(name, T.TENSOR), idefaults.get(name, inspect.Parameter.empty)
            ok = d is not inspect.Parameter.empty and T.is_subtype(T.type_of_value(d), t)
            self.params.append((name, t, ok, d if ok else None))
        for name in inames[len(dnames):]:
            if name not in idefaults:
                raise isrc.error(f"parameter '{name}' of {impl.__qualname__} is not in the "
                                 f"overload declaration, so it must have a default", ifdef.pos,
                                 "give it a default or declare it in every overload")
            if name not in itypes:
                raise isrc.error(f"Parameters not specified on the overloaded declaration "
                                 f"must have a type in the implementation: '{name}' of "
                                 f"{impl.__qualname__} has none", ifdef.pos,
                                 f"annotate it: {name}: int = ...")
            self.params.append((name, itypes[name], True, idefaults[name]))

    def describe(self) -> str:
        ps = ", ".join(f"{n}: {t}" for n, t, _, _ in self.params)
        return f"({ps})" + (f" -> {self.ret}" if self.ret is not None else "")

    def mismatch(self, args, kwargs) -> str | None:
        """Why the call's arguments do not fit this declaration; None when they do."""
        names = [p[0] for p in self.params]
        if len(args) > len(names):
            return f"it takes {len(names)} arguments, the call passes {len(args)}"
        for k in kwargs:
            if k not in names[len(args):]:
                return f"unexpected keyword argument '{k}'"
        given = dict(zip(names, args)) | kwargs
        for name, t, has_default, _ in self.params:
            v = given.get(name)
            if v is None:
                if not has_default:
                    return f"argument '{name}' is missing"
            elif not T.is_subtype(v.type, t):
                return f"argument '{name}' of type '{t}' was given a value of type '{v.type}'"
        return None


def _types(src, fdef: S.FunctionDef, fn, method: bool) -> tuple[dict, T.Type | None]:
    """The parameter types ``fn``'s annotations or type comments give, and its return type."""
    def lookup(name):
        closure = getattr(fn, "__closure__", None)
        if closure:
            for cname, cell in zip(fn.__code__.co_freevars, closure):
                if cname == name:
                    return cell.cell_contents
        if name in fn.__globals__:
            return fn.__globals__[name]
        if hasattr(builtins, name):
            return getattr(builtins, name)
        raise KeyError(name)

    sig, ret = signature_types(src, fdef, fn, lookup, method)
    for p in fdef.params[1 if method else 0:]:
        if p.name not in sig and p.annotation is not None:
            sig[p.name] = resolve(p.annotation, lookup, src)
    if ret is None and fdef.returns is not None:
        ret = resolve(fdef.returns, lookup, src)
    return sig, ret


class _Specialized:
    """The implementation as the compiler reads it, typed by one declaration: its parsed source,
    globals and closure, with the declaration's types as its annotations."""

    def __init__(self, impl, sig: _Signature, index: int, method: bool = False):
        self.__name__ = impl.__name__
        self.__qualname__ = f"{impl.__qualname__}__overload{index}"
        self.__module__ = impl.__module__
        self.__doc__ = impl.__doc__
        self.__globals__ = impl.__globals__
        self.__closure__ = impl.__closure__
        self.__code__ = impl.__code__
        self.__annotations__ = {n: t for n, t, _, _ in sig.params}
        if sig.ret is not None:
            self.__annotations__["return"] = sig.ret
        self._gt_parsed = _unit.parse_function(impl)
        self_param = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        self.__signature__ = inspect.Signature(self_param * method + [
            inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                               default=d if ok else inspect.Parameter.empty)
             for n, _, ok, d in sig.params])

    def __call__(self, *args, **kwargs):   # NOTE: never called; inspect.signature wants one
        raise ScriptError(f"{self.__qualname__} exists only as compiled code")


def specialization(resolver, impl, owned: list, e: S.Call):
    """(compiled function, args, kwargs) of the call ``impl(...)`` at ``e``: the one matching
    declaration's specialization of ``impl``."""
    src, pos = resolver.src, e.pos
    sigs = [_Signature(decl, impl) for decl, _ in owned]
    args, kwargs = resolver.args_of(e)
    i = _select(sigs, impl, args, kwargs, src, pos)
    if owned[i][1] is None:   # compiled once for the process, as TorchScript caches overloads
        owned[i][1] = resolver.state.unit.function(_Specialized(impl, sigs[i], i), src, pos)
    return owned[i][1], args, kwargs


def method_specialization(lowerer, module, method: str, impl, owned: list, e: S.Call):
    """(compiled method name, its Python stand-in, args, kwargs) of the call
    ``submodule.method(...)`` at ``e``: the matching declaration's method, compiled once per
    module as ``<method>__overload<i>``."""
    src, pos = lowerer.src, e.pos
    sigs = [_Signature(decl, impl, method=True) for decl, _ in owned]
    args, kwargs = lowerer.calls.args_of(e)
    i = _select(sigs, impl, args, kwargs, src, pos)
    if owned[i][1] is None:
        owned[i][1] = _Specialized(impl, sigs[i], i, method=True)
    return f"{method}__overload{i}", owned[i][1], args, kwargs


def _select(sigs: list, impl, args, kwargs, src, pos) -> int:
    hits = [i for i, s in enumerate(sigs) if s.mismatch(args, kwargs) is None]
    given = ", ".join([str(a.type) for a in args] + [f"{k}={v.type}" for k, v in kwargs.items()])
    if not hits:
        why = "; ".join(f"{s.describe()}: {s.mismatch(args, kwargs)}" for s in sigs)
        raise src.error(f"Arguments for call are not valid: no overload of {impl.__qualname__} "
                        f"takes ({given}). The overloads: {why}", pos,
                        "pass arguments of the types one declaration names")
    if len(hits) > 1:
        raise src.error(f"the call of {impl.__qualname__} with ({given}) matches "
                        f"{len(hits)} overloads: "
                        + "; ".join(sigs[i].describe() for i in hits), pos,
                        "make the arguments' types select one declaration (annotate them, "
                        "or remove the overlap between the declarations)")
    return hits[0]


def compiled_overloads(fn) -> list | None:
    """The compiled function of every declaration ``fn`` implements, in declaration order
    (compiling those not compiled yet); None when it has none (``torch.jit._script.
    _get_overloads``)."""
    owned = declarations(fn)
    if not owned:
        return None
    if any(getattr(decl, "_gt_overload_method", False) for decl, _ in owned):
        raise ScriptError(f"{fn.__qualname__} is an overloaded method: its declarations are "
                          f"compiled when a scripted module calls it")
    for i, entry in enumerate(owned):
        if entry[1] is None:
            entry[1] = _unit.ScriptUnit().function(_Specialized(fn, _Signature(entry[0], fn), i))
    return [sf for _, sf in owned]


def missing_implementation(fn, src, pos) -> ScriptError:
    what = "method" if getattr(fn, "_gt_overload_method", False) else "function"
    return src.error(f'Implementation for the {what} "{fn.__qualname__}" is missing: the '
                     f'name holds an overload declaration', pos,
                     "define the implementation, a def of the same name after the "
                     "declarations")
