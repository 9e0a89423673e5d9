"""``nn.MultiheadAttention`` and its functional form, written with registry ops.

Parameter names (``in_proj_weight`` or ``q/k/v_proj_weight``, ``in_proj_bias``, ``out_proj``),
shapes and initialisation are PyTorch's, so state_dicts load either way. Masks follow PyTorch:
a bool ``attn_mask``/``key_padding_mask`` marks positions that may NOT be attended (True ->
-inf); a float mask is added to the attention scores.
"""

from __future__ import annotations

import math

import graphtorch as gt
from graphtorch.nn import functional as F
from graphtorch.nn import init
from graphtorch.nn.linear import Linear
from graphtorch.nn.module import Module
from graphtorch.nn.parameter import Parameter
from graphtorch.tensor import Tensor


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under PyTorch's name for MultiheadAttention.out_proj (so reprs match)."""


def _as_additive(mask: Tensor | None, dtype) -> Tensor | None:
    if mask is None:
        return mask
    if mask.is_floating_point():
        return mask
    if mask.dtype != gt.bool:
        raise RuntimeError(f"only bool and floating types of masks are supported, got "
                           f"{mask.dtype}")
    return gt.zeros(list(mask.shape), dtype=dtype).masked_fill(mask, float("-inf"))


def _merge_masks(attn_mask, key_padding_mask, bsz: int, num_heads: int, tgt_len: int,
                 src_len: int, dtype) -> Tensor | None:
    """One additive mask of shape (bsz * heads, L or 1, S) from the two optional masks."""
    attn_mask = _as_additive(attn_mask, dtype)
    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if list(attn_mask.shape) != [tgt_len, src_len]:
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, "
                                   f"but should be {(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if list(attn_mask.shape) != [bsz * num_heads, tgt_len, src_len]:
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, "
                                   f"but should be {(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")
    kpm = _as_additive(key_padding_mask, dtype)
    if kpm is not None:
        if list(kpm.shape) != [bsz, src_len]:
            raise RuntimeError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                               f"{kpm.shape}")
        kpm = kpm.reshape([bsz, 1, 1, src_len]).expand([bsz, num_heads, 1, src_len])
        kpm = kpm.reshape([bsz * num_heads, 1, src_len])
        if attn_mask is None:
            return kpm
        attn_mask = attn_mask + kpm
    return attn_mask


def _heads(t: Tensor, length: int, batch_heads: int, head_dim: int) -> Tensor:
    """(len, N, E) -> (N * heads, len, head_dim)."""
    return t.reshape([length, batch_heads, head_dim]).transpose(0, 1)


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor, num_heads: int,
                                 q_weight: Tensor, k_weight: Tensor, v_weight: Tensor,
                                 in_proj_bias: Tensor | None, out_proj_weight: Tensor,
                                 out_proj_bias: Tensor | None, dropout_p: float = 0.0,
                                 training: bool = True, key_padding_mask: Tensor | None = None,
                                 need_weights: bool = True, attn_mask: Tensor | None = None,
                                 average_attn_weights: bool = True,
                                 bias_k: Tensor | None = None, bias_v: Tensor | None = None,
                                 add_zero_attn: bool = False):
    """Attention over sequence-first (L, N, E) inputs; returns (output, weights or None).

    ``bias_k``/``bias_v`` append one learned key/value position, ``add_zero_attn`` one
    all-zero position; the masks get a matching always-visible column each.
    """
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim % num_heads:
        raise RuntimeError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    head_dim = embed_dim // num_heads
    if in_proj_bias is not None:
        b_q, b_k, b_v = in_proj_bias.chunk(3)
    else:
        b_q = b_k = b_v = None
    q = gt.linear(query, q_weight, b_q)
    k = gt.linear(key, k_weight, b_k)
    v = gt.linear(value, v_weight, b_v)
    extra = (bias_k is not None) + bool(add_zero_attn)
    if bias_k is not None and bias_v is not None:
        k = gt.cat([k, bias_k.expand([1, bsz, embed_dim])], 0)
        v = gt.cat([v, bias_v.expand([1, bsz, embed_dim])], 0)
    if extra:
        src_len += extra
        if attn_mask is not None:
            attn_mask = F.pad(attn_mask, [0, extra])
        if key_padding_mask is not None:
            key_padding_mask = F.pad(key_padding_mask, [0, extra])

    kv_len = src_len - int(add_zero_attn)
    q = _heads(q, tgt_len, bsz * num_heads, head_dim)
    k = _heads(k, kv_len, bsz * num_heads, head_dim)
    v = _heads(v, kv_len, bsz * num_heads, head_dim)
    if add_zero_attn:
        zeros = gt.zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype, device=k.device)
        k, v = gt.cat([k, zeros], 1), gt.cat([v, zeros], 1)
    mask = _merge_masks(attn_mask, key_padding_mask, bsz, num_heads, tgt_len, src_len,
                        q.dtype)
    scores = (q * (1.0 / math.sqrt(head_dim))).matmul(k.transpose(-2, -1))
    if mask is not None:
        scores = scores + mask
    weights = scores.softmax(-1)
    if dropout_p > 0.0 and training:
        weights = gt.dropout(weights, dropout_p, True)
    out = weights.matmul(v)                                     # (N * heads, L, head_dim)
    out = out.transpose(0, 1).reshape([tgt_len * bsz, embed_dim])
    out = gt.linear(out, out_proj_weight, out_proj_bias).reshape([tgt_len, bsz, embed_dim])
    if not need_weights:
        return out, None
    weights = weights.reshape([bsz, num_heads, tgt_len, src_len])
    if average_attn_weights:
        weights = weights.mean([1])
    return out, weights


class MultiheadAttention(Module):
    """Multi-head attention (``torch.nn.MultiheadAttention``).

    >>> import graphtorch as gt
    >>> mha = MultiheadAttention(8, 2, batch_first=True)
    >>> x = gt.randn(3, 5, 8)
    >>> out, w = mha(x, x, x)
    >>> tuple(out.shape), tuple(w.shape)
    ((3, 5, 8), (3, 5, 5))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None, dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        opts = {"device": device, "dtype": dtype}
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(gt.empty((3 * embed_dim, embed_dim), **opts))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = Parameter(gt.empty((embed_dim, embed_dim), **opts))
            self.k_proj_weight = Parameter(gt.empty((embed_dim, self.kdim), **opts))
            self.v_proj_weight = Parameter(gt.empty((embed_dim, self.vdim), **opts))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(gt.empty(3 * embed_dim, **opts))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **opts)
        if add_bias_kv:
            self.bias_k = Parameter(gt.empty((1, 1, embed_dim), **opts))
            self.bias_v = Parameter(gt.empty((1, 1, embed_dim), **opts))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Tensor | None = None, need_weights: bool = True,
                attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False):
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use "
                               "the Transformer module method `generate_square_subsequent_mask` "
                               "to create this mask.")
        if query.shape[-1] != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, but "
                                 f"got {query.shape[-1]}")
        batched = query.dim() == 3
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        if self._qkv_same_embed_dim:
            w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        else:
            w_q, w_k, w_v = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        out, weights = multi_head_attention_forward(
            query, key, value, self.num_heads, w_q, w_k, w_v, self.in_proj_bias,
            self.out_proj.weight, self.out_proj.bias, self.dropout, self.training,
            key_padding_mask, need_weights, attn_mask, average_attn_weights, self.bias_k,
            self.bias_v, self.add_zero_attn)
        if not batched:
            if weights is None:
                return out.squeeze(1), None
            return out.squeeze(1), weights.squeeze(0)
        if self.batch_first:
            out = out.transpose(0, 1)
        return out, weights
