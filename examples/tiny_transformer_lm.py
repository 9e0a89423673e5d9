"""Train a tiny character-level Transformer language model on generated text.

The text is sentences from a small random grammar, so there is structure to learn.

    python examples/tiny_transformer_lm.py [--steps 150] [--context 32]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from progress import ProgressBar, report

import graphtorch as torch
import graphtorch.nn as nn
import graphtorch.nn.functional as F  # noqa: N812


def generated_text(n_sentences: int, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    subjects = ["the cat", "a dog", "my friend", "the robot", "a bird"]
    verbs = ["sees", "likes", "finds", "follows", "draws"]
    objects = ["the ball", "a tree", "the moon", "a small box", "the river"]
    return " ".join(f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}."
                    for _ in range(n_sentences))


class CausalSelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads).permute(
            2, 0, 3, 1, 4).unbind(0)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // self.heads)
        future = torch.ones(t, t, dtype=torch.bool).triu(1)
        att = F.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
        return self.proj((att @ v).transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TinyLM(nn.Module):
    def __init__(self, vocab: int, context: int, dim: int = 48, heads: int = 4, layers: int = 2):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(context, dim)
        self.blocks = nn.Sequential(*[Block(dim, heads) for _ in range(layers)])
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(t))
        return self.head(self.ln(self.blocks(x)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="tiny Transformer LM on generated text")
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--context", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    text = generated_text(400)
    chars = sorted(set(text))
    data = np.array([chars.index(c) for c in text], dtype=np.int64)
    model = TinyLM(len(chars), args.context)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    rng = np.random.default_rng(0)
    bar, losses = ProgressBar(args.steps), []
    for step in range(1, args.steps + 1):
        starts = rng.integers(0, len(data) - args.context - 1, args.batch_size)
        xb = torch.tensor(np.stack([data[s:s + args.context] for s in starts]))
        yb = torch.tensor(np.stack([data[s + 1:s + 1 + args.context] for s in starts]))
        logits = model(xb)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), yb.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        bar.update(step, losses[-1])
    window = max(1, min(10, len(losses) // 4))
    report(float(np.mean(losses[:window])), float(np.mean(losses[-window:])))


if __name__ == "__main__":
    main()
