"""``einsum``: Einstein summation decomposed into permute / diagonal / sum / batched matmul, so
that it differentiates and traces through those registry ops."""

from __future__ import annotations

import builtins
import math

__all__ = ["einsum"]


def einsum(equation: str, *operands):
    """Einstein summation over ``operands`` as ``equation`` says (``'bij,bjk->bik'``, implicit
    output, ``...`` broadcasting, repeated subscripts for diagonals); PyTorch's semantics.

    >>> import graphtorch
    >>> graphtorch.einsum("ij,j->i", graphtorch.ones(2, 3), graphtorch.arange(3.0))
    tensor([3., 3.])

    Operands contract left to right, each pair as one batched matmul.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    terms, output = _einsum_parse(equation.replace(" ", ""), operands)
    terms, operands = list(terms), list(operands)
    for i, (t, x) in enumerate(zip(terms, operands)):
        terms[i], operands[i] = _einsum_diagonals(t, x)
    sizes: dict = {}
    for i, (t, x) in enumerate(zip(terms, operands)):
        for c, n in zip(t, x.shape):
            if sizes.get(c, 1) != 1 and n != 1 and sizes[c] != n:
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {i} which "
                                   f"does not broadcast with previously seen size {sizes[c]}")
            sizes[c] = n if sizes.get(c, 1) == 1 else sizes[c]
    cur, ct = operands[0], terms[0]
    for i in range(1, len(operands)):
        keep = set(output).union(*terms[i + 1:])
        cur, ct = _einsum_sum_out(cur, ct, keep | set(terms[i]))
        x, xt = _einsum_sum_out(operands[i], terms[i], keep | set(ct))
        cur, ct = _einsum_pair(cur, ct, x, xt, keep, sizes, math.prod)
    cur, ct = _einsum_sum_out(cur, ct, set(output))
    if not ct:
        return cur
    return cur.permute([ct.index(c) for c in output])


def _einsum_parse(eq: str, operands) -> tuple[list, str]:
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    used = set(eq) - {".", ",", "-", ">"}
    spare = [chr(0x3B1 + i) for i in range(64) if chr(0x3B1 + i) not in used]
    n_ell = 0
    for i, (t, x) in enumerate(zip(terms, operands)):
        named = len(t.replace("...", ""))
        if "..." in t:
            n_ell = builtins.max(n_ell, x.ndim - named)
        elif named != x.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) does "
                               f"not match the number of dimensions ({x.ndim}) for operand {i} "
                               "and no ellipsis was given")
    ell = "".join(spare[:n_ell])
    terms = [t.replace("...", ell[n_ell - (x.ndim - len(t.replace("...", ""))):])
             for t, x in zip(terms, operands)]
    if arrow:
        output = rhs.replace("...", ell)
        for c in output:
            if not builtins.any(c in t for t in terms):
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                                   "equation for any input operand")
    else:
        counts = "".join(terms)
        output = ell + "".join(sorted(c for c in set(counts) if counts.count(c) == 1
                                      and c not in ell))
    return terms, output


def _einsum_diagonals(term: str, x):
    # NOTE: a repeated subscript in one operand ('ii->i') reads the diagonal, appended last
    while len(set(term)) != len(term):
        c = next(c for c in term if term.count(c) > 1)
        i = term.index(c)
        j = term.index(c, i + 1)
        x = x.diagonal(0, i, j)
        term = term[:i] + term[i + 1:j] + term[j + 1:] + c
    return term, x


def _einsum_sum_out(x, term: str, keep: set):
    dims = [i for i, c in enumerate(term) if c not in keep]
    if not dims:
        return x, term
    return x.sum(dims), "".join(c for c in term if c in keep)


def _einsum_pair(a, ta: str, b, tb: str, keep: set, sizes: dict, prod):
    batch = [c for c in ta if c in tb and c in keep]
    summed = [c for c in ta if c in tb and c not in keep]
    a_only = [c for c in ta if c not in tb]
    b_only = [c for c in tb if c not in ta]
    a = a.permute([ta.index(c) for c in batch + a_only + summed])
    a = a.expand([sizes[c] for c in batch + a_only + summed])
    b = b.permute([tb.index(c) for c in batch + summed + b_only])
    b = b.expand([sizes[c] for c in batch + summed + b_only])
    nb, m, k, n = (prod(sizes[c] for c in cs) for cs in (batch, a_only, summed, b_only))
    out = a.reshape([nb, m, k]) @ b.reshape([nb, k, n])
    return out.reshape([sizes[c] for c in batch + a_only + b_only]), "".join(
        batch + a_only + b_only)

