"""Source locations in archived IR: paths made independent of where the code was checked out.

Nodes carry ``file:line:col`` with the absolute path the tracer or script compiler saw, so the
same model saved from two checkouts would give different bytes. The archive stores each path
relative to the root of its Python package tree instead: the nearest ancestor directory without
an ``__init__.py`` (``/home/me/proj/pkg/sub/model.py`` -> ``pkg/sub/model.py`` when ``pkg`` and
``sub`` are packages; a loose script keeps only its file name). Line and column numbers are
kept. Paths that are already relative (a loaded archive being saved again) and pseudo-files
like ``<stdin>`` are left as they are, so ``save(load(save(m)))`` gives the same bytes.
"""

from __future__ import annotations

import functools
import os
from pathlib import PurePath

from graphtorch.ir.graph import Graph
from graphtorch.ir.source import SourceLoc

MAX_PACKAGE_DEPTH = 64   # a guard against pathological trees, far beyond real package nesting


@functools.lru_cache(maxsize=4096)
def portable_path(path: str) -> str:
    """``path`` relative to its package root, with '/' separators; unchanged when relative."""
    if not os.path.isabs(path):
        return path
    p = PurePath(path)
    parts = [p.name]
    parent = p.parent
    for _ in range(MAX_PACKAGE_DEPTH):
        if parent == parent.parent or not os.path.isfile(os.path.join(parent, "__init__.py")):
            break
        parts.append(parent.name)
        parent = parent.parent
    return "/".join(reversed(parts))


def portable_graph(graph):
    """A copy of ``graph`` whose node source locations use :func:`portable_path`.

    ``graph`` itself is left untouched (it belongs to a live module); nested graphs held in
    attributes (fusion groups) are rewritten too.
    """
    if not _has_absolute_source(graph):
        return graph
    copy = graph.copy()
    for g in _graphs(copy):
        for node in g.walk():
            s = node.source
            if s is not None and os.path.isabs(s.file):
                node.source = SourceLoc(portable_path(s.file), s.line, s.col)
    return copy


def _graphs(graph):
    yield graph
    for node in graph.walk():
        for attr in node.attrs.values():
            if isinstance(attr, Graph):
                yield from _graphs(attr)


def _has_absolute_source(graph) -> bool:
    return any(n.source is not None and os.path.isabs(n.source.file)
               for g in _graphs(graph) for n in g.walk())
