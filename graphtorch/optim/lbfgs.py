"""``graphtorch.optim.LBFGS``: limited-memory BFGS with an optional strong-Wolfe line search.

PyTorch's algorithm, step for step (same two-loop recursion, initial step, history rules,
termination tests and line search), on the parameters flattened into one vector. Vectors are
the parameters' arrays (numpy / CuPy); inner products are array scalars of the parameters'
dtype, as PyTorch's 0-d tensors are, so float32 and float64 runs follow PyTorch's arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from graphtorch.autograd import enable_grad
from graphtorch.errors import ArgumentError
from graphtorch.optim._line_search import strong_wolfe
from graphtorch.optim.optimizer import Optimizer
from graphtorch.tensor import Tensor

_VECTOR_KEYS = ("d", "prev_flat_grad")
_LIST_KEYS = ("old_dirs", "old_stps")


class LBFGS(Optimizer):
    """``graphtorch.optim.LBFGS(params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
    tolerance_change=1e-9, history_size=100, line_search_fn=None)``.

    ``step(closure)`` runs up to ``max_iter`` iterations (``max_eval`` closure calls); the
    closure clears the gradients, computes the loss, calls ``backward()`` and returns the loss.
    One parameter group only; its parameters are optimized as one flat vector.

    >>> import graphtorch
    >>> x = graphtorch.tensor([1.5, -0.5], dtype=graphtorch.float64, requires_grad=True)
    >>> opt = graphtorch.optim.LBFGS([x], line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = ((x - 3.0) ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> _ = opt.step(closure)
    >>> [round(v, 6) for v in x.tolist()]
    [3.0, 3.0]
    """

    def __init__(self, params: Iterable, lr: float = 1, max_iter: int = 20,
                 max_eval: int | None = None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=history_size, line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params: list[Tensor] = self.param_groups[0]["params"]

    # -- the flat parameter vector -----------------------------------------------------------
    def _flat_grad(self):
        xp = self._params[0]._xp
        parts = []
        for p in self._params:
            if p.grad is None:
                parts.append(xp.zeros(p._data.size, dtype=p._data.dtype))
            else:
                parts.append(p.grad._data.reshape(-1))
        return xp.concatenate(parts)

    def _add_to_params(self, step, direction) -> None:
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += (step * direction[offset:offset + n]).reshape(p._data.shape)
            p._vc[0] += 1
            offset += n

    def _set_params(self, arrays: list) -> None:
        for p, a in zip(self._params, arrays):
            p._data[...] = a
            p._vc[0] += 1

    def _evaluate(self, closure: Callable[[], Any]) -> float:
        with enable_grad():
            return float(closure())

    def _directional_evaluate(self, closure: Callable[[], Any], start: list, t, d):
        self._add_to_params(t, d)
        loss = self._evaluate(closure)
        flat_grad = self._flat_grad()
        self._set_params(start)
        return loss, flat_grad

    # -- state as tensors (state_dict / PyTorch layout) ----------------------------------------
    def _load_state(self, state: dict[str, Any]) -> dict[str, Any]:
        out = dict(state)
        for key in _VECTOR_KEYS:
            if isinstance(out.get(key), Tensor):
                out[key] = out[key]._data
        for key in _LIST_KEYS:
            if out.get(key) is not None:
                out[key] = [v._data if isinstance(v, Tensor) else v for v in out[key]]
        return out

    def _store_state(self, state: dict[str, Any], values: dict[str, Any]) -> None:
        dev = self._params[0].device
        for key, value in values.items():
            if key in _VECTOR_KEYS and value is not None:
                value = Tensor._wrap(value, dev)
            elif key in _LIST_KEYS and value is not None:
                value = [Tensor._wrap(v, dev) for v in value]
            state[key] = value

    # -- the step ----------------------------------------------------------------------------
    def step(self, closure: Callable[[], Any] | None = None):  # type: ignore[override]
        """Run up to ``max_iter`` L-BFGS iterations; returns the closure's first loss."""
        if closure is None:
            raise ArgumentError("LBFGS.step() requires a closure that reevaluates the model and "
                                "returns the loss")
        for hook in self._step_pre_hooks:
            hook(self, (), {})
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError("only 'strong_wolfe' is supported")
        xp = self._params[0]._xp
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if xp.abs(flat_grad).max() <= tolerance_grad:
            return orig_loss

        s0 = self._load_state(state)
        d, t = s0.get("d"), s0.get("t")
        old_dirs, old_stps, ro = s0.get("old_dirs"), s0.get("old_stps"), s0.get("ro")
        h_diag, prev_flat_grad = s0.get("H_diag"), s0.get("prev_flat_grad")
        prev_loss = s0.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro, h_diag = [], [], [], 1
            else:
                d = self._direction(state, flat_grad, prev_flat_grad, d, t, old_dirs, old_stps,
                                    ro, h_diag, history_size)
                h_diag = state.pop("_h_diag")
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / xp.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:  # not a descent direction
                break

            ls_func_evals = 0
            opt_cond = False
            if line_search_fn is not None:
                start = [p._data.copy() for p in self._params]

                def along(x, step, direction):
                    return self._directional_evaluate(closure, x, step, direction)

                loss, flat_grad, t, ls_func_evals = strong_wolfe(
                    along, start, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
                self._add_to_params(t, d)
                opt_cond = bool(xp.abs(flat_grad).max() <= tolerance_grad)
            else:
                self._add_to_params(t, d)
                if n_iter != max_iter:
                    loss = self._evaluate(closure)
                    flat_grad = self._flat_grad()
                    opt_cond = bool(xp.abs(flat_grad).max() <= tolerance_grad)
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if xp.abs(d * t).max() <= tolerance_change:  # lack of progress
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        self._store_state(state, {"d": d, "t": t, "old_dirs": old_dirs, "old_stps": old_stps,
                                  "ro": ro, "H_diag": h_diag, "prev_flat_grad": prev_flat_grad,
                                  "prev_loss": prev_loss})
        for hook in self._step_post_hooks:
            hook(self, (), {})
        return orig_loss

    @staticmethod
    def _direction(state: dict, flat_grad, prev_flat_grad, d, t, old_dirs: list,
                   old_stps: list, ro: list, h_diag, history_size: int):
        """Update the curvature history and return ``-H g`` (two-loop recursion)."""
        y = flat_grad - prev_flat_grad
        s = d * t
        ys = y.dot(s)
        if ys > 1e-10:  # keep pairs that satisfy the curvature condition
            if len(old_dirs) == history_size:
                old_dirs.pop(0)
                old_stps.pop(0)
                ro.pop(0)
            old_dirs.append(y)
            old_stps.append(s)
            ro.append(1.0 / ys)
            h_diag = ys / y.dot(y)
        state["_h_diag"] = h_diag
        if "al" not in state:
            state["al"] = [None] * history_size
        al = state["al"]
        q = -flat_grad
        for i in range(len(old_dirs) - 1, -1, -1):
            al[i] = old_stps[i].dot(q) * ro[i]
            q = q - al[i] * old_dirs[i]
        r = q * h_diag
        for i in range(len(old_dirs)):
            be_i = old_dirs[i].dot(r) * ro[i]
            r = r + (al[i] - be_i) * old_stps[i]
        return r
