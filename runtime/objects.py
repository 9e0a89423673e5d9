"""Objects of scripted user classes at run time, and the context managers scripted code enters.

An object of a scripted class (frontend/script/classes.py) is an instance of the Python class
itself, so Python and scripted code share it (reference semantics, in both directions). Its
attributes live in the instance's ``__dict__``; a graph reads and writes only the attributes
its class declares (the compiler checks the names), never a descriptor, a property or a method.
The class is the ``py_class`` of the created value's type, set by the compiler: a graph parsed
from text, or read from an archive, has none and cannot create objects (no class is ever looked
up by name).

The node kinds (docs/ir.md):

- ``prim::CreateObject() -> Foo``: a new object, no attribute set (its ``__init__`` is a
  ``prim::CallFunction`` after it);
- ``prim::GetField[name=a](obj) -> T`` / ``prim::SetField[name=a](obj, value)``;
- ``prim::isinstance_object[types=(...)](v) -> bool``: ``v``'s class is one of the classes of
  the script-class types listed (a test of identity, never of names);
- ``prim::sort_objects[lt=<function>](list, reverse)``: sorts a list of objects in place with
  the class's compiled ``__lt__``;
- ``prim::enter_context[exit=<function>](obj)`` / ``prim::exit_context(obj)``: a ``with`` on an
  object; between the two, the object is on this thread's stack of entered contexts, and a
  scripted call that raises runs the ``__exit__`` of every context it entered, innermost first
  (:func:`unwind_contexts`), as TorchScript does.
"""

from __future__ import annotations

import threading
import weakref

from graphtorch.errors import GraphError
from graphtorch.ir.compilation_unit import resolve_function
from graphtorch.ir.kinds import register_prim_kind

CREATE_OBJECT = register_prim_kind(
    "CreateObject", "a new object of the scripted class its output type names (no attribute "
    "set yet)", side_effects=True)
GET_FIELD = register_prim_kind("GetField", "obj.<name>: an attribute of a scripted object")
SET_FIELD = register_prim_kind("SetField", "obj.<name> = value on a scripted object",
                               side_effects=True)
SORT_OBJECTS = register_prim_kind(
    "sort_objects", "list.sort(reverse) of scripted objects by their class's compiled __lt__",
    side_effects=True)
ENTER_CONTEXT = register_prim_kind(
    "enter_context", "obj joins the stack of entered contexts (its __exit__ runs if the call "
    "raises)", side_effects=True)
EXIT_CONTEXT = register_prim_kind(
    "exit_context", "obj, the innermost entered context, leaves the stack", side_effects=True)

IS_OBJECT = register_prim_kind(
    "isinstance_object", "isinstance(v, (Foo, Bar)): v's class is one of the scripted classes "
    "of the types in 'types'")

OBJECT_KINDS = frozenset({CREATE_OBJECT, GET_FIELD, SET_FIELD, SORT_OBJECTS, ENTER_CONTEXT,
                          EXIT_CONTEXT, IS_OBJECT})


def _fields(obj, node) -> dict:
    d = getattr(obj, "__dict__", None)
    if d is None:
        raise GraphError(f"{node.kind}: expected an object of a scripted class, got "
                         f"{type(obj).__name__}")
    return d


def _create_object(interp, node, args, env):
    cls = getattr(node.outputs[0].type, "py_class", None)
    if cls is None:
        raise GraphError(f"prim::CreateObject: the class {node.outputs[0].type} is not known "
                         f"here (a graph read from text or an archive cannot create objects)")
    return object.__new__(cls)


def _is_object(interp, node, args, env):
    classes = [getattr(t, "py_class", None) for t in node.attrs["types"]]
    if None in classes:
        raise GraphError("prim::isinstance_object: a class is not known here (a graph read "
                         "from text or an archive cannot test for classes)")
    return type(args[0]) in classes


def _get_field(interp, node, args, env):
    name = node.attrs["name"]
    d = _fields(args[0], node)
    if name not in d:
        raise GraphError(f"prim::GetField: the {type(args[0]).__name__} object has no "
                         f"attribute {name!r} (it was never assigned)")
    return d[name]


def _set_field(interp, node, args, env):
    _fields(args[0], node)[node.attrs["name"]] = args[1]
    return None


class _Ordered:
    """A sort key comparing two objects with the compiled ``__lt__``."""

    __slots__ = ("obj", "less")

    def __init__(self, obj, less):
        self.obj, self.less = obj, less

    def __lt__(self, other: _Ordered) -> bool:
        return bool(self.less(self.obj, other.obj))


def _sort_objects(interp, node, args, env):
    lst, reverse = args
    graph = resolve_function(node.graph, node.attrs["lt"]).graph

    def less(a, b):
        return interp.run(graph, [a, b])[0]

    lst.sort(key=lambda o: _Ordered(o, less), reverse=bool(reverse))
    return None


_LOCAL = threading.local()


def _stack() -> list:
    stack = getattr(_LOCAL, "stack", None)
    if stack is None:
        stack = _LOCAL.stack = []
    return stack


def context_depth() -> int:
    """How many contexts this thread has entered and not left (a scripted call notes it)."""
    return len(_stack())


def unwind_contexts(depth: int) -> None:
    """A scripted call raised: run ``__exit__(None, None, None)`` of each context it entered
    and did not leave, innermost first, down to ``depth``."""
    stack = _stack()
    while len(stack) > depth:
        obj, graph, interp = stack.pop()
        interp.run(graph, [obj, None, None, None])


def _enter_context(interp, node, args, env):
    graph = resolve_function(node.graph, node.attrs["exit"]).graph
    _stack().append((args[0], graph, interp))
    return None


def _exit_context(interp, node, args, env):
    stack = _stack()
    if not stack or stack[-1][0] is not args[0]:
        raise GraphError("prim::exit_context: the object is not the innermost entered context")
    stack.pop()
    return None


# The compiled methods of script classes that objects may be called through by name: an object
# behind a jit.interface (prim::CallMethod dispatches at run time). Filled by the compiler when
# it casts an object to an interface; never from a loaded file.
_METHODS: weakref.WeakKeyDictionary[type, dict] = weakref.WeakKeyDictionary()


def register_method(cls: type, name: str, fn) -> None:
    """Make ``prim::CallMethod[name=name]`` on an object of ``cls`` run ``fn`` (a compiled
    function taking the object first)."""
    _METHODS.setdefault(cls, {})[name] = fn


def object_method(obj, name: str):
    """The compiled method ``name`` of ``obj``'s script class, or None."""
    return _METHODS.get(type(obj), {}).get(name) if isinstance(name, str) else None


OBJECT_HANDLERS = {CREATE_OBJECT: _create_object, GET_FIELD: _get_field, SET_FIELD: _set_field,
                   SORT_OBJECTS: _sort_objects, ENTER_CONTEXT: _enter_context,
                   EXIT_CONTEXT: _exit_context, IS_OBJECT: _is_object}
