#!/usr/bin/env python3
"""PyTorch anchor of the transformer benchmark: nanoGPT's architecture, timed the same way as ours.

The model is nanoGPT's GPT (Karpathy) with bias=False and dropout 0: token and learned positional
embeddings, pre-LayerNorm blocks, causal self-attention written out (PyTorch 1.13 has no
scaled_dot_product_attention), a 4x GELU MLP, a final LayerNorm and an output head tied to the token
embedding; init std 0.02 and 0.02/sqrt(2*n_layer) on the residual projections.

Measured: a training step (forward, cross-entropy, backward, global-norm clipping 1.0, AdamW with
weight decay 0.1 on >=2-D tensors) on batch x ctx random tokens, as tokens/s; and KV-cache
generation with batch 1 (one new token per forward, keys and values kept in preallocated caches,
greedy choice) as tokens/s. Each figure is the median of several repetitions after warm-up.

Fair use of this machine: run with OPENBLAS_CORETYPE=SkylakeX and libopenblas0-openmp installed;
the script sets torch.set_num_threads(threads) (2 by default). Prints one JSON object on stdout.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
from torch.nn import functional as F


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (PyTorch's nn.LayerNorm cannot drop it)."""

    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        assert cfg.d % cfg.heads == 0
        self.c_attn = nn.Linear(cfg.d, 3 * cfg.d, bias=False)
        self.c_proj = nn.Linear(cfg.d, cfg.d, bias=False)
        self.n_head = cfg.heads
        self.n_embd = cfg.d
        self.register_buffer("bias", torch.tril(torch.ones(cfg.ctx, cfg.ctx)).view(1, 1, cfg.ctx, cfg.ctx))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)

    def forward_cached(self, x, k_cache, v_cache, pos):
        """One new position per sequence; k_cache/v_cache are (B, H, ctx, hd), filled up to pos."""
        B, T, C = x.size()
        hd = C // self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k_cache[:, :, pos : pos + T] = k.view(B, T, self.n_head, hd).transpose(1, 2)
        v_cache[:, :, pos : pos + T] = v.view(B, T, self.n_head, hd).transpose(1, 2)
        q = q.view(B, T, self.n_head, hd).transpose(1, 2)
        keys = k_cache[:, :, : pos + T]
        values = v_cache[:, :, : pos + T]
        att = (q @ keys.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        att = F.softmax(att, dim=-1)  # T == 1: every cached position is visible
        y = att @ values
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.c_fc = nn.Linear(cfg.d, 4 * cfg.d, bias=False)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * cfg.d, cfg.d, bias=False)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln_1 = LayerNorm(cfg.d, bias=False)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = LayerNorm(cfg.d, bias=False)
        self.mlp = MLP(cfg)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))

    def forward_cached(self, x, k_cache, v_cache, pos):
        x = x + self.attn.forward_cached(self.ln_1(x), k_cache, v_cache, pos)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab, cfg.d)
        self.wpe = nn.Embedding(cfg.ctx, cfg.d)
        self.h = nn.ModuleList([Block(cfg) for _ in range(cfg.layers)])
        self.ln_f = LayerNorm(cfg.d, bias=False)
        self.lm_head = nn.Linear(cfg.d, cfg.vocab, bias=False)
        self.wte.weight = self.lm_head.weight  # weight tying
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.layers))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets):
        _, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

    def forward_cached(self, idx, caches, pos):
        x = self.wte(idx) + self.wpe(torch.arange(pos, pos + idx.size(1), dtype=torch.long))
        for block, (k_cache, v_cache) in zip(self.h, caches):
            x = block.forward_cached(x, k_cache, v_cache, pos)
        return self.lm_head(self.ln_f(x[:, -1, :]))

    def parameter_count(self):
        return sum(p.numel() for p in self.parameters())  # the tied table counts once


def make_optimizer(model):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=3e-4, betas=(0.9, 0.95), eps=1e-8)


def train_tokens_per_second(model, cfg, warmup, reps, gen):
    opt = make_optimizer(model)
    times = []
    for i in range(warmup + reps):
        data = torch.randint(0, cfg.vocab, (cfg.batch, cfg.ctx + 1), generator=gen)
        x, y = data[:, :-1].contiguous(), data[:, 1:].contiguous()
        start = time.perf_counter()
        loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        elapsed = time.perf_counter() - start
        if not math.isfinite(loss.item()):
            raise SystemExit("pytorch_gpt: training loss is not finite")
        if i >= warmup:
            times.append(elapsed)
    return cfg.batch * cfg.ctx / statistics.median(times), times


@torch.no_grad()
def decode_tokens_per_second(model, cfg, tokens, warmup, reps):
    hd = cfg.d // cfg.heads
    caches = [
        (torch.zeros(1, cfg.heads, cfg.ctx, hd), torch.zeros(1, cfg.heads, cfg.ctx, hd)) for _ in range(cfg.layers)
    ]
    times = []
    for i in range(warmup + reps):
        idx = torch.zeros(1, 1, dtype=torch.long)
        start = time.perf_counter()
        for pos in range(tokens):
            logits = model.forward_cached(idx, caches, pos)
            idx = torch.argmax(logits, dim=-1, keepdim=True)
        elapsed = time.perf_counter() - start
        if i >= warmup:
            times.append(elapsed)
    return tokens / statistics.median(times), times


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--d", type=int, default=256)
    p.add_argument("--ctx", type=int, default=256)
    p.add_argument("--vocab", type=int, default=32)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--train-reps", type=int, default=5, help="timed training steps (median)")
    p.add_argument("--train-warmup", type=int, default=2)
    p.add_argument("--decode-tokens", type=int, default=128, help="tokens generated per repetition")
    p.add_argument("--decode-reps", type=int, default=3)
    p.add_argument("--decode-warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    cfg = p.parse_args()
    if cfg.decode_tokens > cfg.ctx:
        raise SystemExit("pytorch_gpt: --decode-tokens must not exceed --ctx")

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = GPT(cfg)
    train_tps, train_times = train_tokens_per_second(model, cfg, cfg.train_warmup, cfg.train_reps, gen)
    model.eval()
    decode_tps, decode_times = decode_tokens_per_second(model, cfg, cfg.decode_tokens, cfg.decode_warmup, cfg.decode_reps)
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
                "parameters": model.parameter_count(),
                "train_tps": train_tps,
                "train_step_seconds": train_times,
                "decode_tps": decode_tps,
                "decode_seconds": decode_times,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
