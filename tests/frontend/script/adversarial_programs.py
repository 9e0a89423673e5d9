"""Adversarial scripted programs: the places compilers get wrong (scoping across branches and
loops, early exits, Optional refinement, loop-carried containers, Python's int/float rules,
evaluation order, indexing, calls). Each entry: (function, thunk giving a list of argument
tuples). tests/frontend/script/test_adversarial.py scripts each one and compares it with eager
Python on every argument tuple, gradients included where a float tensor argument is given."""
# ruff: noqa: UP006, UP035, UP045, UP032, B007, SIM108, PLR1714, E731 - the programs spell
# Python the way users write it, which is what the compiler must accept

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import graphtorch as torch
import graphtorch.nn.functional as F


def R(*shape):
    return torch.randn(*shape)


SCALE = 3                 # a global: captured as a constant when a function is scripted
OFFSETS = (1, -2, 5)      # a global tuple constant


# --- shadowing and rebinding ----------------------------------------------------------------------
def shadow_param_in_branch(x, c: bool):
    if c:
        x = x * 2
    else:
        x = x - 1
    return x


def rebind_type_in_straight_line(x, n: int):
    y = n
    y = float(y) / 2        # a new binding may have a new type outside control flow
    y = str(y)
    return x, y


def shadow_in_loop_then_branch(x, n: int):
    acc = x
    for i in range(n):
        if i % 2 == 0:
            acc = acc + i
            continue
        acc = acc * 0.5
    return acc


def rebind_loop_target_after(x, n: int):
    i = -1
    for i in range(n):
        x = x + 1
    return x, i             # the target keeps its last value (or -1 when the loop never ran)


def loop_target_shadows_param(x, i: int, n: int):
    for i in range(n):
        x = x * 1.5
    return x, i


def nested_shadowing(x, n: int):
    y = 0
    for i in range(n):
        y = y + i
        for i in range(2):
            y = y + 10 * i
    return x + y


def same_name_different_branches_same_type(x, a: int):
    if a > 0:
        z = a * 2
    elif a < -3:
        z = -a
    else:
        z = 7
    return x + z


def defined_in_one_branch_refined_by_return(x, a: int):
    if a > 0:
        y = x * a
    else:
        return x
    return y + 1


def defined_in_both_after_exit(x, a: int):
    if a > 5:
        raise ValueError("too big")
    elif a > 0:
        y = 1
    else:
        y = 2
    return x + y


# --- early exits and Optional refinement ----------------------------------------------------------
def optional_early_return(x, y: Optional[int]):
    if y is None:
        return x
    return x + y * 2


def optional_early_return_not(x, y: Optional[torch.Tensor]):
    if y is None:
        return x * 2
    z = y.relu()
    return x + z


def optional_assert_refines(x, y: Optional[int]):
    if y is None:
        y = 3
    assert y is not None
    return x * y


def optional_assert_refines_tensor(x, w: Optional[torch.Tensor] = None):
    if w is None:
        w = torch.ones(3)
    assert w is not None, "w must be set"
    return x * w


def optional_or_early_exit(x, a: Optional[int], b: Optional[int]):
    if a is None or b is None:
        return x
    return x + a - b


def optional_refine_in_loop(x, limit: Optional[int]):
    total = 0
    for i in range(4):
        if limit is not None and i >= limit:
            break
        total += i
    return x + total


def optional_reassigned(x, y: Optional[int]):
    z: Optional[int] = y
    if z is None:
        z = 10
    return x + z


def optional_elif_chain(x, a: Optional[int], b: Optional[float]):
    if a is not None:
        return x + a
    elif b is not None:
        return x * b
    return x


def return_from_nested_loops(x, n: int):
    for i in range(n):
        for j in range(n):
            if i * j > 3:
                return x + i * 10 + j
    return x - 1


def return_from_while(x, n: int):
    i = 0
    while True:
        if i >= n:
            return x + i
        i += 2


def return_in_loop_then_code_after(x, n: int):
    k = 0
    for i in range(n):
        k += i
        if k > 5:
            return x * k
    k = k * 100
    return x + k


# --- nested loops with break / continue -----------------------------------------------------------
def break_inner_only(x, n: int):
    count = 0
    for i in range(n):
        for j in range(n):
            if j > i:
                break
            count += 1
    return x + count


def continue_outer_via_flag(x, n: int):
    total = 0
    for i in range(n):
        skip = False
        for j in range(3):
            if (i + j) % 4 == 0:
                skip = True
                break
        if skip:
            continue
        total += i
    return x + total


def break_and_continue_in_while(x, n: int):
    i = 0
    s = 0
    while i < 100:
        i += 1
        if i % 3 == 0:
            continue
        if i > n:
            break
        s += i
    return x + s, i


def three_level_loops(x, n: int):
    s = 0
    for a in range(n):
        if a == 2:
            continue
        for b in range(a):
            for c in range(b + 1):
                if c == 2:
                    break
                s += a * 100 + b * 10 + c
            if b > 3:
                break
    return x + s


def break_in_else_branch(x, n: int):
    acc = 0
    for i in range(10):
        if i < n:
            acc += i
        else:
            break
    return x + acc


def while_with_tensor_condition(x):
    steps = 0
    while x.sum() < 10.0 and steps < 50:
        x = x + 1.0
        steps += 1
    return x, steps


# --- while loops whose carried values change type -------------------------------------------------
def while_int_becomes_float(x, n: int):
    v = 1
    while v < n:
        v = v * 1.5           # int before the loop, float after an iteration
    return x + v


def while_counter_and_float(x, n: int):
    i = 0
    acc = 0.0
    while i < n:
        acc += i / 2
        i += 1
    return x + acc, acc


def loop_optional_becomes_value(x, n: int):
    best: Optional[int] = None
    for i in range(n):
        if best is None or i * 3 % 7 > best:
            best = i * 3 % 7
    if best is None:
        return x
    return x + best


# --- loop-carried tuples and lists ----------------------------------------------------------------
def loop_carried_tuple(x, n: int):
    state = (0, 1)
    for i in range(n):
        a, b = state
        state = (b, a + b)
    return x + state[0], state


def loop_carried_tuple_of_tensors(x, n: int):
    h, c = x, x * 0
    for i in range(n):
        h, c = torch.tanh(h + c), c + h
    return h, c


def loop_swap(x, y, n: int):
    for i in range(n):
        x, y = y, x + y
    return x, y


def append_in_loop_then_len(x, n: int):
    xs: List[int] = []
    for i in range(n):
        if i % 3 != 0:
            xs.append(i)
    return x + len(xs), xs


def append_tensors_then_stack(x, n: int):
    outs: List[torch.Tensor] = []
    for i in range(n):
        outs.append(x * i)
    return torch.stack(outs + [x], 0)


def list_mutation_visible_after_loop(x, n: int):
    xs = [0, 0, 0]
    for i in range(n):
        xs[i % 3] += i
    return x + xs[0] - xs[2], xs


def list_pop_while_nonempty(x, n: int):
    xs = [i * 2 for i in range(n)]
    total = 0
    while len(xs) > 0:
        total += xs.pop()
    return x + total, xs


def list_alias_mutation(x, n: int):
    a = [1, 2]
    b = a
    for i in range(n):
        b.append(i)
    return x + len(a), a


def list_of_lists(x, n: int):
    rows: List[List[int]] = []
    for i in range(n):
        row: List[int] = []
        for j in range(i):
            row.append(j)
        rows.append(row)
    return x + len(rows), rows


def list_extend_insert_reverse(x, n: int):
    xs = [1, 2, 3]
    xs.extend([n, n + 1])
    xs.insert(0, -n)
    xs.reverse()
    return x + xs.index(2), xs, xs.count(n)


def list_slicing_negative(x, n: int):
    xs = [i for i in range(n + 5)]
    return x, xs[::-1], xs[-3:], xs[1:-1:2], xs[:-2]


def list_augassign_is_in_place(x, n: int):
    a = [1]
    b = a
    a += [n]
    return x, a, b


def list_concat_is_new(x, n: int):
    a = [1]
    b = a
    a = a + [n]
    return x, a, b


def list_negative_index(x, n: int):
    xs = [n, n + 1, n + 2]
    xs[-1] = 0
    return x + xs[-2], xs


# --- dicts ----------------------------------------------------------------------------------------
def dict_iteration_order(x, n: int):
    d: Dict[str, int] = {}
    d["zeta"] = 1
    d["alpha"] = 2
    d["mid"] = n
    keys: List[str] = []
    for k in d:
        keys.append(k)
    return x + d["mid"], keys, list(d.values())


def dict_update_keeps_order(x, n: int):
    d = {"b": 1, "a": 2}
    d["b"] = n
    d["c"] = 3
    out: List[str] = []
    for k, v in d.items():
        out.append(k + str(v))
    return x, out


def dict_int_keys_in_loop(x, n: int):
    counts: Dict[int, int] = {}
    for i in range(n):
        k = i % 3
        if k in counts:
            counts[k] += 1
        else:
            counts[k] = 1
    return x + len(counts), counts


def dict_get_default(x, n: int):
    d = {"a": 1.5}
    v = d.get("b", 2.0)
    w = d.get("a", 0.0)
    return x * v + w + n


def dict_comprehension_order(x, n: int):
    d = {str(i): i * i for i in range(n) if i != 1}
    return x + len(d), d


# --- int / float semantics ------------------------------------------------------------------------
def floordiv_mod_negative(x, a: int, b: int):
    return x, a // b, a % b, -a // b, -a % b, a // -b, a % -b


def float_floordiv_mod(x, a: float, b: float):
    return x, a // b, a % b, -a % b


def true_division_int(x, a: int, b: int):
    q = a / b
    return x + q, q


def int_power_negative_exponent(x, a: int):
    return x, a ** 2, 2 ** -a, (-a) ** 3


def float_inf_compare(x, a: float):
    big = float("inf")
    small = -float("inf")
    return x, a < big, a > small, min(a, big), max(small, a), big > 1e308


def float_nan_compare(x, a: float):
    n = float("nan")
    return x, n == n, a != n, n < a


def int_float_equality(x, a: int):
    return x, a == float(a), 1 == 1.0, a * 1.0, int(-2.7), int(2.7)


def mixed_augassign(x, a: int):
    y = 2
    y *= a
    y -= 1
    z = 1.0
    z /= 4
    z += y
    return x * z, y, z


def rounding_builtins(x, a: float):
    return x, math.floor(a), math.ceil(a), int(a), abs(-a), math.floor(a + 0.5)


def bool_arithmetic(x, b: bool):
    return x + b, b + b, b * 3, -b


def int_big_values(x, a: int):
    big = a * 10 ** 12
    return x, big, big // 7, big % 1000003


# --- evaluation order, short circuit --------------------------------------------------------------
def _log_value(log: List[int], v: int) -> int:
    log.append(v)
    return v


def chained_compare_evaluates_once(x, a: int):
    log: List[int] = []
    ok = 0 < _log_value(log, a) < 10
    return x, ok, log


def chained_compare_short_circuits(x, a: int):
    log: List[int] = []
    ok = _log_value(log, a) < 0 < _log_value(log, 5)
    return x, ok, log


def and_short_circuits_side_effects(x, a: int):
    log: List[int] = []
    ok = a > 0 and _log_value(log, a) > 2
    ok2 = a > 0 or _log_value(log, -a) > 2
    return x, ok, ok2, log


def bool_ops_on_bools(x, a: bool, b: bool):
    c = a and b
    d = a or b
    e = not a or b and not b
    return x, c, d, e


def truthiness_in_conditions(x, n: int, s: str, xs: List[int]):
    k = 0
    if n:
        k += 1
    if s:
        k += 10
    if xs:
        k += 100
    if not xs or n:
        k += 1000
    return x + k, k


def ternary_chain(x, a: int):
    return x, ("neg" if a < 0 else "zero" if a == 0 else "pos")


# --- strings --------------------------------------------------------------------------------------
def fstring_specs(x, a: int, f: float, s: str):
    return x, f"{a:5d}|{f:.3f}|{s!r}|{s:>6}|{a:+}|{f:e}|{a:x}"


def str_format_positional(x, a: int, f: float):
    return x, "{} and {:.2f} and {}".format(a, f, a * 2)


def str_of_numbers(x, a: int, f: float, b: bool):
    return x, str(a) + "," + str(f) + "," + str(b) + "," + str(1e20) + "," + str(float("inf"))


def string_building_loop(x, n: int):
    out = ""
    for i in range(n):
        out = out + str(i) + ("," if i < n - 1 else "")
    return x, out


def string_compare_and_in(x, s: str):
    k = 0
    if s == "abc":
        k += 1
    if s < "b":
        k += 10
    if s in ["abc", "xyz"]:
        k += 100
    return x + k, k


# --- tensor indexing ------------------------------------------------------------------------------
def index_none_and_ellipsis(x):
    return x[None], x[..., 0], x[:, None, 1:], x[..., None], x[0, ...]


def index_negative_ints(x):
    return x[-1], x[:, -2], x[-2:, :-1]


def index_computed_ints(x, i: int, j: int):
    return x[i, j], x[i:j], x[-i], x[:, i:]


def index_bool_mask(x):
    return x[x > 0], x[(x > 0).any(1)]


def index_tensor_indices(x):
    idx = torch.tensor([2, 0, 0])
    return x[idx], x[:, idx], x[idx, idx]


def index_assign_scalar_and_slice(x, i: int):
    y = x.clone()
    y[i] = 0.0
    y[:, 0] = 5.0
    y[y > 2] = -1.0
    return y


def index_assign_tensor(x):
    y = x.clone()
    y[1:3] = x[0:2] * 2
    return y


def index_assign_in_loop(x, n: int):
    y = torch.zeros(n, 3)
    for i in range(n):
        y[i] = x[i % 3] * i
    return y


def index_step_positive(x):
    return x[::2], x[1::2, ::-1 * -1]


def index_bool_scalar(x, b: bool):
    return x[b], x[None, b]


# --- calls ----------------------------------------------------------------------------------------
def _helper_kw(x, scale: float = 2.0, shift: int = 0, neg: bool = False):
    y = x * scale + shift
    if neg:
        y = -y
    return y


def call_with_keywords_and_defaults(x):
    return (_helper_kw(x), _helper_kw(x, 3.0), _helper_kw(x, shift=4),
            _helper_kw(x, neg=True, scale=0.5), _helper_kw(x, 1.0, 2, True))


def _helper_optional(x, w: Optional[torch.Tensor] = None, k: int = 1):
    if w is None:
        return x * k
    return x * w * k


def call_optional_defaults(x):
    return _helper_optional(x), _helper_optional(x, x), _helper_optional(x, k=3), \
        _helper_optional(x, w=x + 1, k=2)


def _pair(x) -> Tuple[torch.Tensor, int]:
    return x + 1, 2


def call_returning_tuple_unpacked(x):
    a, b = _pair(x)
    c = _pair(a)[1]
    return a * b, c


def _chain_a(x, n: int):
    return _chain_b(x, n) + 1


def _chain_b(x, n: int):
    return x * n


def call_chain(x, n: int):
    return _chain_a(x, n) + _chain_b(x, 2)


def global_constants_captured(x, i: int):
    return x * SCALE + OFFSETS[1] + OFFSETS[-1] * i, len(OFFSETS)


def functional_with_keywords(x):
    a = F.softmax(x, dim=1)
    b = F.leaky_relu(x, negative_slope=0.2)
    c = F.dropout(x, p=0.5, training=False)
    d = F.gelu(x)
    e = F.log_softmax(x, dim=-1)
    return a, b, c, d, e


def functional_positional_and_keyword(x, w):
    return F.linear(x, w), F.linear(input=x, weight=w, bias=None), F.normalize(x, p=2.0, dim=1)


def torch_functions_keywords(x):
    return torch.sum(x, dim=1, keepdim=True), torch.mean(x, 0), torch.cat([x, x], dim=0), \
        torch.clamp(x, min=-0.5, max=0.5), x.sum(dim=-1)


def nested_tuple_return(x, n: int):
    return (x, (n, (x * 2, "s")), [n, n + 1])


def nested_tuple_unpack(x):
    t = (x, (1, 2.5))
    a, (b, c) = t
    return a * b + c, b, c


def method_chain(x):
    return x.t().contiguous().view(-1).reshape(2, -1).sum(0).unsqueeze(0)


def tensor_inplace_rebinds_name(x):
    y = x.clone()
    y.add_(1.0)
    y.mul_(2.0)
    return y


def builtin_min_max_lists(x, xs: List[int]):
    return x, min(xs), max(xs), sum(xs), max(xs[0], 3), min(2.5, xs[-1])


def enumerate_and_zip_lists(x, xs: List[int], ys: List[float]):
    total = 0.0
    for i, (a, b) in enumerate(zip(xs, ys)):
        total += i * a * b
    return x + total, total


def enumerate_tensor_rows(x):
    s = torch.zeros(x.size(1))
    for i, row in enumerate(x):
        s = s + row * i
    return s


def comprehension_nested_with_filter(x, n: int):
    pairs = [i * 10 + j for i in range(n) for j in range(i) if (i + j) % 2 == 1]
    return x, pairs


def comprehension_does_not_leak(x, n: int):
    i = 100
    ys = [i * 2 for i in range(n)]
    return x + i, ys


def tuple_constant_loop_unrolled(x):
    for k in (1, 2.5, 3):
        x = x * k
    return x


def isinstance_on_optional(x, a: Optional[int]):
    if isinstance(a, int):
        return x + 1
    return x


def len_of_tensor_and_shape(x):
    n = len(x)
    rows, cols = x.shape
    return x + n + rows * cols, x.size(-1), x.dim(), x.numel()


def shape_arithmetic_reshape(x):
    b = x.size(0)
    return x.reshape(b, -1).reshape([x.shape[1], b]).flatten()


def scalar_tensor_mix(x, a: int, f: float):
    return x * a + f, a * x - f / x.abs().add(1.0), x.clamp(-3.0, 3.0) ** 2, 2 - x, 1 / (x + 5)


def tensor_to_python_scalars(x):
    m = x.max().item()
    s = float(x.sum())
    k = int(x.argmax())
    return x - m + s, k


def tensor_bool_in_condition(x):
    if bool(x.sum() > 0) and x.numel() > 3:
        return x.relu()
    return x.abs()


def zip_uneven_lengths(x, xs: List[int], ys: List[int]):
    out: List[int] = []
    for a, b in zip(xs, ys):
        out.append(a - b)
    return x, out


def range_variants(x, a: int, b: int, s: int):
    out: List[int] = []
    for i in range(a, b, s):
        out.append(i)
    for i in range(b, a, -1):
        out.append(-i)
    return x, out


def print_does_not_break(x, n: int):
    print("n is", n)
    return x + n


# --- found while hardening: each was wrong or refused before ----------------------------------
def _make_scaler(k: int):
    def scaled(x):
        return x * k
    return scaled


SCALE_BY_2 = _make_scaler(2)     # two closures with one qualname: must stay two functions
SCALE_BY_3 = _make_scaler(3)


def closures_from_one_factory(x):
    return SCALE_BY_2(x) + SCALE_BY_3(x) * 10


def shape_compared_with_tuple(x):
    return x.shape == (3, 4), x.shape != (4, 3), x.shape == (3,), x.size(-1) == 4


def named_tuple_fields(x):
    m = x.max(1)
    return m.values, x.max(dim=0).indices, torch.sort(x, 1).values, x.topk(2).indices


def new_factories_follow_dtype(x):
    y = x.to(torch.float64)
    return y.new_zeros(2, 3), y.new_ones([2]), x.new_full([2], 7.0), y.new_zeros(3).dtype


def factories_with_runtime_sizes(x, n: int):
    return torch.zeros(n, 3) + torch.arange(n).unsqueeze(1), torch.ones([n, 2]).sum()


def reversed_range_over_size(x):
    out: List[int] = []
    for i in range(x.size(0) - 1, -1, -1):
        out.append(i)
    return out


def loop_over_shape_list(x):
    p = 1
    for d in x.shape:
        p *= d
    return p, len(x.shape)


def dict_of_tensors_items(x):
    d: Dict[str, torch.Tensor] = {"a": x, "b": x * 2}
    s = torch.zeros(x.shape)
    for k, v in d.items():
        s = s + v
    return s, list(d.keys())


def tensor_literal(x):
    idx = torch.tensor([2, 0, 0])
    w = torch.tensor([[1.0, -2.0, 0.5]])
    return x[idx], (x * w).sum(), torch.tensor(3), torch.tensor(-1.5, dtype=torch.float64)


def tensor_from_runtime_number(x, n: int, f: float):
    return x + torch.tensor(n), torch.tensor(f) * x, torch.tensor(n > 2)


def tensor_literal_is_fresh(x):
    t = torch.tensor([1.0, 2.0, 3.0])
    t[0] = x.sum()
    return t


def integer_tensor_division(x):
    t = torch.arange(-5, 5)
    return t // 3, t % 3, t / 2, t % -3


def pow_with_negative_int_exponent(x, a: int, b: int):
    return x, a ** b


def augassign_list_element(x, n: int):
    xs = [1, 2]
    xs[0] += n
    xs[-1] *= 3
    return x, xs


def _kw_only(x, *, k: int = 2):
    return x * k


def call_keyword_only_parameter(x):
    return _kw_only(x, k=3) + _kw_only(x)


def _default_none_then_kw(x, y: Optional[torch.Tensor] = None, *, scale: float = 1.0):
    if y is None:
        y = x
    return x * y * scale


def call_default_none_and_keyword_only(x):
    return _default_none_then_kw(x, scale=2.0), _default_none_then_kw(x, x + 1)


def return_inside_unrolled_tuple_loop(x, limit: float):
    for k in (1.0, 2.0, 4.0):
        x = x * k
        if x.abs().sum() > limit:
            return x, k
    return x, -1.0


def isinstance_refines_optional(x, a: Optional[int]):
    if isinstance(a, int):
        return x + a
    return x


def optional_tensor_truthiness_in_condition(x, w: Optional[torch.Tensor]):
    if w is not None and bool(w.sum() > 0):
        return x + w
    return x


def while_condition_mixes_tensor_and_int(x, n: int):
    k = 0
    while k < n and x.abs().max() < 100.0:
        x = x * 2.0
        k += 1
    return x, k


def item_assign_then_branch_then_loop(x, n: int):
    y = torch.zeros(4)
    if n > 1:
        y[0] = 1.0
    for i in range(n):
        y[i % 4] = y[i % 4] + x[i % 3]
    y.add_(1.0)
    return y


def inplace_method_in_loop(x, n: int):
    y = x.clone()
    for _ in range(n):
        y.mul_(2.0)
        y.add_(x)
    return y


PROGRAMS = [
    (shadow_param_in_branch, lambda: [(R(3), True), (R(3), False)]),
    (rebind_type_in_straight_line, lambda: [(R(2), 3), (R(2), -7)]),
    (shadow_in_loop_then_branch, lambda: [(R(3), 0), (R(3), 5)]),
    (rebind_loop_target_after, lambda: [(R(2), 0), (R(2), 4)]),
    (loop_target_shadows_param, lambda: [(R(2), 9, 0), (R(2), 9, 3)]),
    (nested_shadowing, lambda: [(R(2), 0), (R(2), 3)]),
    (same_name_different_branches_same_type, lambda: [(R(2), 4), (R(2), -5), (R(2), 0)]),
    (defined_in_one_branch_refined_by_return, lambda: [(R(2), 3), (R(2), -1)]),
    (defined_in_both_after_exit, lambda: [(R(2), 3), (R(2), -1)]),
    (optional_early_return, lambda: [(R(3), None), (R(3), 4)]),
    (optional_early_return_not, lambda: [(R(3), None), (R(3), R(3))]),
    (optional_assert_refines, lambda: [(R(3), None), (R(3), -2)]),
    (optional_assert_refines_tensor, lambda: [(R(3),), (R(3), R(3))]),
    (optional_or_early_exit, lambda: [(R(2), None, 1), (R(2), 1, None), (R(2), 5, 2)]),
    (optional_refine_in_loop, lambda: [(R(2), None), (R(2), 2), (R(2), 0)]),
    (optional_reassigned, lambda: [(R(2), None), (R(2), 3)]),
    (optional_elif_chain, lambda: [(R(2), None, None), (R(2), 2, None), (R(2), None, 0.5)]),
    (return_from_nested_loops, lambda: [(R(2), 1), (R(2), 3), (R(2), 5)]),
    (return_from_while, lambda: [(R(2), 0), (R(2), 5)]),
    (return_in_loop_then_code_after, lambda: [(R(2), 2), (R(2), 6)]),
    (break_inner_only, lambda: [(R(2), 0), (R(2), 4)]),
    (continue_outer_via_flag, lambda: [(R(2), 0), (R(2), 9)]),
    (break_and_continue_in_while, lambda: [(R(2), 0), (R(2), 10), (R(2), 200)]),
    (three_level_loops, lambda: [(R(2), 1), (R(2), 6)]),
    (break_in_else_branch, lambda: [(R(2), 0), (R(2), 4), (R(2), 20)]),
    (while_with_tensor_condition, lambda: [(R(3),), (R(3) + 20,)]),
    (while_int_becomes_float, lambda: [(R(2), 0), (R(2), 1), (R(2), 10)]),
    (while_counter_and_float, lambda: [(R(2), 0), (R(2), 5)]),
    (loop_optional_becomes_value, lambda: [(R(2), 0), (R(2), 6)]),
    (loop_carried_tuple, lambda: [(R(2), 0), (R(2), 7)]),
    (loop_carried_tuple_of_tensors, lambda: [(R(3), 0), (R(3), 3)]),
    (loop_swap, lambda: [(R(2), R(2), 0), (R(2), R(2), 3)]),
    (append_in_loop_then_len, lambda: [(R(2), 0), (R(2), 8)]),
    (append_tensors_then_stack, lambda: [(R(3), 0), (R(3), 3)]),
    (list_mutation_visible_after_loop, lambda: [(R(2), 0), (R(2), 7)]),
    (list_pop_while_nonempty, lambda: [(R(2), 0), (R(2), 5)]),
    (list_alias_mutation, lambda: [(R(2), 0), (R(2), 3)]),
    (list_of_lists, lambda: [(R(2), 0), (R(2), 4)]),
    (list_extend_insert_reverse, lambda: [(R(2), 2), (R(2), 5)]),
    (list_slicing_negative, lambda: [(R(2), 0), (R(2), 4)]),
    (list_augassign_is_in_place, lambda: [(R(2), 3)]),
    (list_concat_is_new, lambda: [(R(2), 3)]),
    (list_negative_index, lambda: [(R(2), 3)]),
    (dict_iteration_order, lambda: [(R(2), 4)]),
    (dict_update_keeps_order, lambda: [(R(2), 4)]),
    (dict_int_keys_in_loop, lambda: [(R(2), 0), (R(2), 7)]),
    (dict_get_default, lambda: [(R(2), 4)]),
    (dict_comprehension_order, lambda: [(R(2), 0), (R(2), 5)]),
    (floordiv_mod_negative, lambda: [(R(1), 7, 2), (R(1), 7, -2), (R(1), -7, 3), (R(1), 0, 5)]),
    (float_floordiv_mod, lambda: [(R(1), 7.5, 2.0), (R(1), -7.5, 2.0), (R(1), 7.5, -2.5)]),
    (true_division_int, lambda: [(R(1), 7, 2), (R(1), -7, 2), (R(1), 6, 3)]),
    (int_power_negative_exponent, lambda: [(R(1), 3), (R(1), 0)]),
    (float_inf_compare, lambda: [(R(1), 2.5), (R(1), -1e300)]),
    (float_nan_compare, lambda: [(R(1), 2.5)]),
    (int_float_equality, lambda: [(R(1), 3), (R(1), -4)]),
    (mixed_augassign, lambda: [(R(2), 3), (R(2), -2)]),
    (rounding_builtins, lambda: [(R(1), 2.5), (R(1), -2.5), (R(1), 3.7), (R(1), -0.2)]),
    (bool_arithmetic, lambda: [(R(2), True), (R(2), False)]),
    (int_big_values, lambda: [(R(1), 123456789), (R(1), -987654321)]),
    (chained_compare_evaluates_once, lambda: [(R(1), 5), (R(1), 50), (R(1), -1)]),
    (chained_compare_short_circuits, lambda: [(R(1), 5), (R(1), -5)]),
    (and_short_circuits_side_effects, lambda: [(R(1), 5), (R(1), -5), (R(1), 1)]),
    (bool_ops_on_bools, lambda: [(R(1), a, b) for a in (True, False) for b in (True, False)]),
    (truthiness_in_conditions, lambda: [(R(1), 0, "", []), (R(1), 2, "a", [1]),
                                        (R(1), 0, "b", [0])]),
    (ternary_chain, lambda: [(R(1), -3), (R(1), 0), (R(1), 8)]),
    (fstring_specs, lambda: [(R(1), 42, 3.14159, "hi"), (R(1), -7, -0.5, "")]),
    (str_format_positional, lambda: [(R(1), 3, 2.0 / 3.0)]),
    (str_of_numbers, lambda: [(R(1), 3, 0.1, True), (R(1), -2, 1e-7, False)]),
    (string_building_loop, lambda: [(R(1), 0), (R(1), 4)]),
    (string_compare_and_in, lambda: [(R(1), "abc"), (R(1), "xyz"), (R(1), "c")]),
    (index_none_and_ellipsis, lambda: [(R(3, 4),)]),
    (index_negative_ints, lambda: [(R(3, 4),)]),
    (index_computed_ints, lambda: [(R(4, 5), 1, 3), (R(4, 5), 2, -1)]),
    (index_bool_mask, lambda: [(R(4, 3),)]),
    (index_tensor_indices, lambda: [(R(3, 3),)]),
    (index_assign_scalar_and_slice, lambda: [(R(3, 4), 1), (R(3, 4), -1)]),
    (index_assign_tensor, lambda: [(R(4, 2),)]),
    (index_assign_in_loop, lambda: [(R(3, 3), 4)]),
    (index_step_positive, lambda: [(R(4, 3),)]),
    (index_bool_scalar, lambda: [(R(3), True), (R(3), False)]),
    (call_with_keywords_and_defaults, lambda: [(R(3),)]),
    (call_optional_defaults, lambda: [(R(3),)]),
    (call_returning_tuple_unpacked, lambda: [(R(3),)]),
    (call_chain, lambda: [(R(3), 4)]),
    (global_constants_captured, lambda: [(R(3), 1)]),
    (functional_with_keywords, lambda: [(R(2, 5),)]),
    (functional_positional_and_keyword, lambda: [(R(2, 4), R(3, 4))]),
    (torch_functions_keywords, lambda: [(R(3, 4),)]),
    (nested_tuple_return, lambda: [(R(2), 1)]),
    (nested_tuple_unpack, lambda: [(R(2),)]),
    (method_chain, lambda: [(R(2, 3),)]),
    (tensor_inplace_rebinds_name, lambda: [(R(3),)]),
    (builtin_min_max_lists, lambda: [(R(1), [3, -1, 7]), (R(1), [0])]),
    (enumerate_and_zip_lists, lambda: [(R(1), [1, 2, 3], [0.5, 1.5]), (R(1), [], [])]),
    (enumerate_tensor_rows, lambda: [(R(4, 3),)]),
    (comprehension_nested_with_filter, lambda: [(R(1), 0), (R(1), 5)]),
    (comprehension_does_not_leak, lambda: [(R(1), 3)]),
    (tuple_constant_loop_unrolled, lambda: [(R(2),)]),
    (isinstance_on_optional, lambda: [(R(1), None), (R(1), 2)]),
    (len_of_tensor_and_shape, lambda: [(R(3, 4),)]),
    (shape_arithmetic_reshape, lambda: [(R(3, 4),)]),
    (scalar_tensor_mix, lambda: [(R(3), 2, 0.5)]),
    (tensor_to_python_scalars, lambda: [(R(5),)]),
    (tensor_bool_in_condition, lambda: [(R(5) + 3,), (R(5) - 3,), (R(2) + 3,)]),
    (zip_uneven_lengths, lambda: [(R(1), [1, 2, 3], [5]), (R(1), [], [1])]),
    (range_variants, lambda: [(R(1), 0, 10, 3), (R(1), 5, 2, 1), (R(1), -3, 3, 2)]),
    (print_does_not_break, lambda: [(R(1), 2)]),
    (closures_from_one_factory, lambda: [(R(3),)]),
    (shape_compared_with_tuple, lambda: [(R(3, 4),), (R(4, 3),), (R(3),)]),
    (named_tuple_fields, lambda: [(R(3, 4),)]),
    (new_factories_follow_dtype, lambda: [(R(3),)]),
    (factories_with_runtime_sizes, lambda: [(R(1), 0), (R(1), 3)]),
    (reversed_range_over_size, lambda: [(R(3),), (R(0),)]),
    (loop_over_shape_list, lambda: [(R(2, 3, 4),)]),
    (dict_of_tensors_items, lambda: [(R(3),)]),
    (tensor_literal, lambda: [(R(3, 3),)]),
    (tensor_from_runtime_number, lambda: [(R(3), 1, 0.5), (R(3), 4, -2.0)]),
    (tensor_literal_is_fresh, lambda: [(R(3),), (R(3),)]),
    (integer_tensor_division, lambda: [(R(1),)]),
    (pow_with_negative_int_exponent, lambda: [(R(1), 2, -1), (R(1), -3, 3)]),
    (augassign_list_element, lambda: [(R(1), 4)]),
    (call_keyword_only_parameter, lambda: [(R(3),)]),
    (call_default_none_and_keyword_only, lambda: [(R(3),)]),
    (return_inside_unrolled_tuple_loop, lambda: [(R(3), s) for s in (0.0, 6.0, 1e9)]),
    (isinstance_refines_optional, lambda: [(R(2), None), (R(2), 3)]),
    (optional_tensor_truthiness_in_condition, lambda: [(R(2), None), (R(2), R(2) + 5),
                                                       (R(2), R(2) - 5)]),
    (while_condition_mixes_tensor_and_int, lambda: [(R(2), 0), (R(2), 3), (R(2) * 60, 9)]),
    (item_assign_then_branch_then_loop, lambda: [(R(3), 0), (R(3), 6)]),
    (inplace_method_in_loop, lambda: [(R(3), 0), (R(3), 3)]),
]
