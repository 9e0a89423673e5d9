"""The source of one row-reduction Triton kernel: an op over the last dim, for one dtype.

Two shapes of kernel, both reading the input in its storage dtype and accumulating in float32
(float64 for float64 inputs):

* **persistent** — a program holds ``BLOCK_R`` whole rows of ``BLOCK_N >= n`` columns in
  registers: one read of the input, one write of the output (short rows pack several per
  program so that each program still moves a few thousand elements);
* **looped** — one row per program, walked in ``N_CHUNKS`` chunks of ``BLOCK_N``: softmax and
  log_softmax keep a running max and sum per lane (the online softmax: two reads), layer_norm
  makes a mean pass, a variance pass and a write pass, rms_norm a sum-of-squares pass and a
  write pass. The chunk count is a constexpr, not ``n``: Triton 3.6's interpreter cannot take a
  run-time scalar as a loop bound under numpy >= 2.4 (it converts a 1-element array with
  ``int()``); on a GPU this compiles one looped kernel per row length rounded up to a chunk.

Output rows are contiguous; the input's rows may be ``sx`` elements apart (its last dim is
contiguous). Reductions (sum, mean, amax) write one value per row, amax propagating NaN as
PyTorch does. ``eps`` is baked into the source as an exact constant of the accumulation dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphtorch.errors import UnsupportedError

from .math_lib import constant

REDUCTIONS = ("sum", "mean", "amax")
ROW_OPS = ("softmax", "log_softmax", "layer_norm", "rms_norm")
OPS = REDUCTIONS + ROW_OPS
STORAGE = {"float16": "tl.float16", "bfloat16": "tl.bfloat16", "float32": "tl.float32",
           "float64": "tl.float64"}


@dataclass(frozen=True)
class RowSpec:
    """What one row kernel is specialized for (with the source text, its disk-cache key)."""

    op: str
    dtype: str            # storage dtype name (a key of STORAGE)
    persistent: bool
    weight: bool = False  # layer_norm / rms_norm: an elementwise affine weight of n values
    bias: bool = False    # layer_norm: a bias of n values
    eps: float = 1e-5

    @property
    def acc(self) -> str:
        return "tl.float64" if self.dtype == "float64" else "tl.float32"

    def name(self) -> str:
        shape = "persistent" if self.persistent else "looped"
        affine = ("_w" if self.weight else "") + ("_b" if self.bias else "")
        return f"row_{self.op}_{self.dtype}_{shape}{affine}"


def check(spec: RowSpec) -> None:
    if spec.op not in OPS:
        raise UnsupportedError(f"no Triton row kernel for {spec.op!r} (have: {', '.join(OPS)})")
    if spec.dtype not in STORAGE:
        raise UnsupportedError(f"Triton row kernels take {', '.join(STORAGE)} inputs, not "
                               f"{spec.dtype}")
    if (spec.weight and spec.op not in ("layer_norm", "rms_norm")) or \
            (spec.bias and spec.op != "layer_norm"):
        raise UnsupportedError(f"{spec.op} takes no weight or bias")


def generate(spec: RowSpec) -> str:
    """The module source (kernel ``spec.name()``, decorated ``@_gt_jit``)."""
    check(spec)
    body = _persistent(spec) if spec.persistent else _looped(spec)
    params = ["x", "y"] + (["w"] if spec.weight else []) + (["b"] if spec.bias else [])
    params += ["rows", "n", "sx"]
    if spec.persistent:
        params += ["BLOCK_R: tl.constexpr", "BLOCK_N: tl.constexpr"]
    else:
        params += ["BLOCK_N: tl.constexpr", "N_CHUNKS: tl.constexpr"]
    head = (f'"""graphtorch row kernel (generated; edits are overwritten): {spec}"""\n\n'
            "import triton.language as tl\n\n"
            "# NOTE: the combine functions of tl.sum / tl.max, by name: tl.sum itself is a jitted\n"
            "# function that Triton's interpreter cannot call unless TRITON_INTERPRET=1 was set\n"
            "# before triton was imported; its reduce recognizes these two and runs numpy's\n"
            "_SUM = tl.standard._sum_combine\n"
            "_MAX = tl.standard._elementwise_max\n\n\n"
            f"@_gt_jit\ndef {spec.name()}({', '.join(params)}):\n")
    return head + "\n".join("    " + ln if ln else "" for ln in body) + "\n"


def _consts(spec: RowSpec) -> dict:
    return {"ACC": spec.acc, "OUT": STORAGE[spec.dtype],
            "NEG": constant(float("-inf"), spec.acc), "NAN": constant(float("nan"), spec.acc),
            "EPS": constant(spec.eps, spec.acc), "ZERO": constant(0.0, spec.acc)}


def _persistent(spec: RowSpec) -> list[str]:
    k = _consts(spec)
    lines = [
        "r = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)",
        "c = tl.arange(0, BLOCK_N)",
        "rmask = r < rows",
        "cmask = c < n",
        "mask = rmask[:, None] & cmask[None, :]",
        "r64 = r.to(tl.int64)",
        f"v = tl.load(x + (r64[:, None] * sx + c[None, :]), mask=mask, other=0).to({k['ACC']})",
    ]
    op = spec.op
    if op in ("sum", "mean"):
        lines.append("out = tl.reduce(v, 1, _SUM)")
        if op == "mean":
            lines.append(f"out = out / (n + {k['ZERO']})")
    elif op == "amax":
        lines += [f"m = tl.reduce(tl.where(mask, v, {k['NEG']}), 1, _MAX)",
                  "bad = tl.reduce(tl.where(mask & (v != v), 1, 0), 1, _MAX)",
                  f"out = tl.where(bad > 0, {k['NAN']}, m)"]
    elif op in ("softmax", "log_softmax"):
        lines += [f"v = tl.where(mask, v, {k['NEG']})",
                  "m = tl.reduce(v, 1, _MAX)",
                  "e = tl.where(mask, tl.exp(v - m[:, None]), 0.0)",
                  "s = tl.reduce(e, 1, _SUM)"]
        lines.append("out = e / s[:, None]" if op == "softmax"
                     else "out = v - (m + tl.log(s))[:, None]")
    elif op == "layer_norm":
        lines += [f"mean = tl.reduce(v, 1, _SUM) / (n + {k['ZERO']})",
                  f"d = tl.where(mask, v - mean[:, None], {k['ZERO']})",
                  f"var = tl.reduce(d * d, 1, _SUM) / (n + {k['ZERO']})",
                  f"rstd = 1.0 / tl.sqrt(var + {k['EPS']})",
                  "out = d * rstd[:, None]"]
        lines += _affine(spec, k, "c", "cmask", "[None, :]")
    else:  # rms_norm
        lines += [f"ms = tl.reduce(v * v, 1, _SUM) / (n + {k['ZERO']})",
                  f"rstd = 1.0 / tl.sqrt(ms + {k['EPS']})",
                  "out = v * rstd[:, None]"]
        lines += _affine(spec, k, "c", "cmask", "[None, :]")
    if op in REDUCTIONS:
        lines.append(f"tl.store(y + r64, out.to({k['OUT']}), mask=rmask)")
    else:
        lines.append(f"tl.store(y + (r64[:, None] * n + c[None, :]), out.to({k['OUT']}), "
                     "mask=mask)")
    return lines


def _affine(spec: RowSpec, k: dict, cols: str, cmask: str, bcast: str) -> list[str]:
    lines = []
    if spec.weight:
        lines.append(f"out = out * tl.load(w + {cols}, mask={cmask}, other=0).to({k['ACC']})"
                     f"{bcast}")
    if spec.bias:
        lines.append(f"out = out + tl.load(b + {cols}, mask={cmask}, other=0).to({k['ACC']})"
                     f"{bcast}")
    return lines


def _chunk(k: dict, what: str) -> list[str]:
    """A loop over the row in chunks; ``what`` is the loop body (a list of lines)."""
    return ["for start in range(0, N_CHUNKS * BLOCK_N, BLOCK_N):",
            "    c = start + c0",
            "    cmask = c < n",
            f"    v = tl.load(xr + c, mask=cmask, other=0).to({k['ACC']})"] + \
        ["    " + ln for ln in what]


def _looped(spec: RowSpec) -> list[str]:
    k = _consts(spec)
    acc, nn = k["ACC"], f"(n + {k['ZERO']})"
    lines = ["row = tl.program_id(0).to(tl.int64)",
             "xr = x + row * sx",
             "yr = y + row * n",
             "c0 = tl.arange(0, BLOCK_N)"]
    op = spec.op
    store_row = f"tl.store(yr + c, out.to({k['OUT']}), mask=cmask)"
    if op in ("sum", "mean"):
        lines.append(f"acc = tl.full([BLOCK_N], 0, {acc})")
        lines += _chunk(k, ["acc += v"])
        lines.append("out = tl.reduce(acc, 0, _SUM)" + (f" / {nn}" if op == "mean" else ""))
    elif op == "amax":
        lines += [f"acc = tl.full([BLOCK_N], 0, {acc}) + {k['NEG']}",
                  "bad = tl.full([BLOCK_N], 0, tl.int32)"]
        lines += _chunk(k, [f"v = tl.where(cmask, v, {k['NEG']})",
                            "acc = tl.where(v > acc, v, acc)",
                            "bad = bad | tl.where(v != v, 1, 0)"])
        lines.append(f"out = tl.where(tl.reduce(bad, 0, _MAX) > 0, {k['NAN']}, "
                     "tl.reduce(acc, 0, _MAX))")
    elif op in ("softmax", "log_softmax"):
        # NOTE: per-lane running max and sum rescaled as the max grows (online softmax); a lane
        # whose max is still -inf holds sum 0 (exp(-inf - -inf) would be nan)
        lines += [f"m = tl.full([BLOCK_N], 0, {acc}) + {k['NEG']}",
                  f"s = tl.full([BLOCK_N], 0, {acc})"]
        lines += _chunk(k, [f"v = tl.where(cmask, v, {k['NEG']})",
                            "m_new = tl.where(v > m, v, m)",
                            "m_new = tl.where(v != v, v, m_new)",
                            f"live = m_new != {k['NEG']}",
                            "scale = tl.where(live, tl.exp(m - m_new), 0.0)",
                            "s = s * scale + tl.where(live, tl.exp(v - m_new), 0.0)",
                            "m = m_new"])
        lines += ["mx = tl.reduce(m, 0, _MAX)",
                  "bad = tl.reduce(tl.where(m != m, 1, 0), 0, _MAX)",
                  f"mx = tl.where(bad > 0, {k['NAN']}, mx)",
                  "total = tl.reduce(tl.where(m != "
                  f"{k['NEG']}, s * tl.exp(m - mx), 0.0), 0, _SUM)"]
        if op == "softmax":
            lines += _chunk(k, ["out = tl.exp(v - mx) / total", store_row])
        else:
            lines += ["shift = mx + tl.log(total)"]
            lines += _chunk(k, ["out = v - shift", store_row])
        return lines
    elif op == "layer_norm":
        lines.append(f"acc = tl.full([BLOCK_N], 0, {acc})")
        lines += _chunk(k, ["acc += v"])
        lines += [f"mean = tl.reduce(acc, 0, _SUM) / {nn}", f"acc = tl.full([BLOCK_N], 0, {acc})"]
        lines += _chunk(k, [f"d = tl.where(cmask, v - mean, {k['ZERO']})", "acc += d * d"])
        lines.append(f"rstd = 1.0 / tl.sqrt(tl.reduce(acc, 0, _SUM) / {nn} + {k['EPS']})")
        lines += _chunk(k, ["out = (v - mean) * rstd"] + _affine(spec, k, "c", "cmask", "")
                        + [store_row])
        return lines
    else:  # rms_norm
        lines.append(f"acc = tl.full([BLOCK_N], 0, {acc})")
        lines += _chunk(k, ["acc += v * v"])
        lines.append(f"rstd = 1.0 / tl.sqrt(tl.reduce(acc, 0, _SUM) / {nn} + {k['EPS']})")
        lines += _chunk(k, ["out = v * rstd"] + _affine(spec, k, "c", "cmask", "") + [store_row])
        return lines
    lines.append(f"tl.store(y + row, out.to({k['OUT']}))")
    return lines
