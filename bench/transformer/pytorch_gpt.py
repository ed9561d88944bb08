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

Fair use of this machine (what bench_transformer sets for it): OPENBLAS_CORETYPE=SkylakeX with
libopenblas0-openmp installed, glibc's malloc kept from mapping and trimming (GLIBC_TUNABLES
mmap_max=0 and a large trim_threshold, so that tensors reuse the heap instead of faulting in fresh
pages), and whichever
OpenMP wait policy is faster here; the script sets torch.set_num_threads(threads) (2 by default). Prints one JSON object on stdout, or
with --serve answers bench_transformer's requests one repetition at a time.
"""
import argparse
import copy
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


class Trainer:
    """One training step at a time (forward, backward, clipping, AdamW) on fresh random tokens."""

    def __init__(self, model, cfg, gen):
        self.model, self.cfg, self.gen = model, cfg, gen
        self.opt = make_optimizer(model)

    def step(self, bf16=False):
        """One step; with bf16, forward and loss under CPU autocast to bfloat16 (PyTorch's mixed
        precision: bf16 products, f32 weights, optimizer and reductions), the anchor for ours."""
        cfg = self.cfg
        data = torch.randint(0, cfg.vocab, (cfg.batch, cfg.ctx + 1), generator=self.gen)
        x, y = data[:, :-1].contiguous(), data[:, 1:].contiguous()
        self.model.train()
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = self.model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        elapsed = time.perf_counter() - start
        if not math.isfinite(loss.item()):
            raise SystemExit("pytorch_gpt: training loss is not finite")
        return elapsed


class Decoder:
    """KV-cache generation, batch 1: `tokens` new tokens from an empty cache, greedy choice."""

    def __init__(self, model, cfg, dtype=torch.float32):
        """With dtype bfloat16: a bfloat16 copy of the weights and caches (how PyTorch users run
        bf16 inference on CPU: half the bytes per token, oneDNN's bf16 kernels)."""
        self.model, self.cfg = (copy.deepcopy(model).to(dtype) if dtype != torch.float32 else model), cfg
        hd = cfg.d // cfg.heads
        self.caches = [
            (torch.zeros(1, cfg.heads, cfg.ctx, hd, dtype=dtype), torch.zeros(1, cfg.heads, cfg.ctx, hd, dtype=dtype))
            for _ in range(cfg.layers)
        ]

    @torch.no_grad()
    def run(self, tokens):
        self.model.eval()
        idx = torch.zeros(1, 1, dtype=torch.long)
        start = time.perf_counter()
        for pos in range(tokens):
            logits = self.model.forward_cached(idx, self.caches, pos)
            idx = torch.argmax(logits, dim=-1, keepdim=True)
        return time.perf_counter() - start


def serve(trainer, decoder, cfg, bf16_decoder=None):
    """Line protocol for bench_transformer, which alternates its own repetitions with ours so that
    both see the same machine load: 'train' -> seconds of one step, 'train_bf16' -> the same under
    bf16 autocast, 'decode' -> seconds of one generation of --decode-tokens tokens, 'decode_bf16' ->
    the same with bfloat16 weights, 'quit'."""
    print("ready " + cfg.blas, flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "train":
            print(repr(trainer.step()), flush=True)
        elif cmd == "train_bf16":
            print(repr(trainer.step(bf16=True)), flush=True)
        elif cmd == "decode":
            print(repr(decoder.run(cfg.decode_tokens)), flush=True)
        elif cmd == "decode_bf16":
            if bf16_decoder is None:
                bf16_decoder = Decoder(decoder.model, cfg, torch.bfloat16)
            print(repr(bf16_decoder.run(cfg.decode_tokens)), flush=True)
        elif cmd == "quit":
            break
        else:
            raise SystemExit(f"pytorch_gpt: unknown command {cmd!r}")
    return 0


def blas_library():
    """The BLAS library PyTorch's products run on (after one product has loaded it). Debian's
    python3-torch links the generic libblas.so.3, which is Netlib's reference BLAS unless an
    optimised one (libopenblas0-openmp) provides it: an anchor on the reference BLAS trains ~35x
    slower than PyTorch at its best, so the benchmark refuses it rather than report a flattering ratio."""
    a = torch.ones(64, 64)
    (a @ a).sum()
    with open("/proc/self/maps") as maps:
        libs = sorted({line.split()[-1] for line in maps if "blas" in line.split()[-1].lower()})
    return libs


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
    p.add_argument("--serve", action="store_true", help="answer 'train'/'decode'/'quit' lines on stdin")
    cfg = p.parse_args()
    if cfg.decode_tokens > cfg.ctx:
        raise SystemExit("pytorch_gpt: --decode-tokens must not exceed --ctx")

    torch.set_num_threads(cfg.threads)
    libs = blas_library()
    if not any("openblas" in lib or "mkl" in lib for lib in libs):
        raise SystemExit(
            "pytorch_gpt: PyTorch runs on the reference BLAS (" + (", ".join(libs) or "none found") + "), not at its best: "
            "install libopenblas0-openmp (bash install_deps.sh --bench)")
    cfg.blas = libs[0]
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = GPT(cfg)
    trainer = Trainer(model, cfg, gen)
    decoder = Decoder(model, cfg)
    if cfg.serve:
        return serve(trainer, decoder, cfg)
    train_times = [trainer.step() for _ in range(cfg.train_warmup + cfg.train_reps)][cfg.train_warmup :]
    decode_times = [decoder.run(cfg.decode_tokens) for _ in range(cfg.decode_warmup + cfg.decode_reps)][
        cfg.decode_warmup :
    ]
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
                "parameters": model.parameter_count(),
                "train_tps": cfg.batch * cfg.ctx / statistics.median(train_times),
                "train_step_seconds": train_times,
                "decode_tps": cfg.decode_tokens / statistics.median(decode_times),
                "decode_seconds": decode_times,
                "blas": cfg.blas,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
