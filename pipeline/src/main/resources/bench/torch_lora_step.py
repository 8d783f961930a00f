#!/usr/bin/python3
"""PyTorch peer for `lakelora bench-train`: one LoRA training step of a LLaMA-shaped model, timed, in plain torch.

The model is written from Hugging Face's modeling_llama (eager attention): embedding, per layer RMSNorm ->
q/k/v projections -> rotate_half RoPE (inv_freq = 1/theta^(arange(0, d, 2)/d)) -> repeat_kv (GQA) -> softmax(QK^T /
sqrt(d) + causal mask, fp32) V -> o_proj, residual, RMSNorm -> down(silu(gate) * up), residual; final RMSNorm, lm_head
(tied to the embedding or not), HF's shifted cross-entropy (mean over targets). With --qk-norm true the layers are
modeling_qwen3's: q_norm / k_norm (RMSNorm over head_dim, per head) on the projected queries and keys before RoPE;
--head-dim sets head_dim (Qwen3's is independent of hidden / heads; default hidden / heads). The base is fp32 and frozen
(requires_grad False). LoRA as PEFT's lora.Linear on all seven linears: y = base(x) + lora_B(lora_A(x)) * alpha / r,
lora_A kaiming_uniform(a=sqrt(5)), lora_B zeros, dropout 0. torch.optim.AdamW (lr 1e-4, weight decay 0.01) on the LoRA
parameters only. Random weights: uniform with standard deviation 0.02; random token ids, labels = input ids; batch 1.

For each thread count (torch.set_num_threads, and openblas_set_num_threads when torch runs on OpenBLAS, whose pthread
pool otherwise keeps one thread per core): --warmup untimed steps, then --steps timed ones (zero_grad, forward,
loss, backward, optimizer step). Prints one JSON object on stdout:
  {"torch": version, "blas_lib": path, "peak_rss_mb": VmHWM of this process,
   "runs": [{"threads": t, "blas_threads": n, "step_s": [...], "median_step_s": s, "median_cpu_s": process CPU
             seconds per step, "tok_s": T / s, "loss_first": l, "loss_last": l}]}
If torch cannot be imported it prints {"error": "..."} and exits 3; on the reference BLAS it measures nothing, prints
{"error": why and the fix, "refused": true} and exits 4 (bench/blas_probe.py).

Usage: /usr/bin/python3 torch_lora_step.py --vocab 32000 --hidden 2048 --ffn 5632 --layers 22 --heads 32 --kv-heads 4
         --rope-theta 10000 --eps 1e-5 --tied false --seq 512 --rank 16 --alpha 32 --threads 1,2 --steps 3 --warmup 1
       (Qwen3-1.7B: --vocab 151936 --hidden 2048 --ffn 6144 --layers 28 --heads 16 --kv-heads 8 --head-dim 128
         --qk-norm true --rope-theta 1000000 --eps 1e-6 --tied true ...)
"""
import argparse
import ctypes
import json
import math
import statistics
import sys
import time

import blas_probe  # beside this script (the benchmark commands write both)

try:
    import torch
    import torch.nn.functional as F
except Exception as e:  # ImportError, or a broken install
    print(json.dumps({"error": "cannot import torch with %s: %s" % (sys.executable, e)}))
    sys.exit(3)


def uniform(gen, std, *shape):
    a = std * math.sqrt(3.0)  # uniform(-a, a) has standard deviation std
    return torch.empty(*shape).uniform_(-a, a, generator=gen)


class LoraLinear(torch.nn.Module):
    """PEFT lora.Linear over a frozen fp32 weight [out, in]."""

    def __init__(self, gen, in_f, out_f, r, scaling, std):
        super().__init__()
        self.weight = torch.nn.Parameter(uniform(gen, std, out_f, in_f), requires_grad=False)
        self.lora_A = torch.nn.Parameter(torch.empty(r, in_f))
        self.lora_B = torch.nn.Parameter(torch.zeros(out_f, r))
        torch.nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scaling = scaling

    def forward(self, x):
        return F.linear(x, self.weight) + F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scaling


def rms_norm(x, w, eps):
    variance = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(variance + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Layer(torch.nn.Module):
    def __init__(self, gen, a, std):
        super().__init__()
        C, F_, QD, KVD = a.hidden, a.ffn, a.heads * a.head_dim, a.kv_heads * a.head_dim
        s = a.alpha / a.rank

        def lin(i, o):
            return LoraLinear(gen, i, o, a.rank, s, std)

        self.q, self.k, self.v, self.o = lin(C, QD), lin(C, KVD), lin(C, KVD), lin(QD, C)
        self.gate, self.up, self.down = lin(C, F_), lin(C, F_), lin(F_, C)
        self.ln1 = torch.nn.Parameter(1 + uniform(gen, std, C), requires_grad=False)
        self.ln2 = torch.nn.Parameter(1 + uniform(gen, std, C), requires_grad=False)
        if a.qk_norm:  # Qwen3RMSNorm(head_dim) for queries and keys
            self.q_norm = torch.nn.Parameter(1 + uniform(gen, std, a.head_dim), requires_grad=False)
            self.k_norm = torch.nn.Parameter(1 + uniform(gen, std, a.head_dim), requires_grad=False)
        self.a = a

    def forward(self, x, cos, sin, mask):
        a = self.a
        B, T, _ = x.shape
        h = rms_norm(x, self.ln1, a.eps)
        q = self.q(h).view(B, T, a.heads, a.head_dim).transpose(1, 2)
        k = self.k(h).view(B, T, a.kv_heads, a.head_dim).transpose(1, 2)
        v = self.v(h).view(B, T, a.kv_heads, a.head_dim).transpose(1, 2)
        if a.qk_norm:
            q = rms_norm(q, self.q_norm, a.eps)
            k = rms_norm(k, self.k_norm, a.eps)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = a.heads // a.kv_heads
        if rep > 1:  # repeat_kv
            k = k[:, :, None].expand(B, a.kv_heads, rep, T, a.head_dim).reshape(B, a.heads, T, a.head_dim)
            v = v[:, :, None].expand(B, a.kv_heads, rep, T, a.head_dim).reshape(B, a.heads, T, a.head_dim)
        att = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(a.head_dim) + mask
        att = torch.softmax(att, dim=-1, dtype=torch.float32)
        o = torch.matmul(att, v).transpose(1, 2).reshape(B, T, a.heads * a.head_dim)
        x = x + self.o(o)
        h = rms_norm(x, self.ln2, a.eps)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(torch.nn.Module):
    def __init__(self, a, std=0.02):
        super().__init__()
        gen = torch.Generator().manual_seed(a.seed)
        self.embed = torch.nn.Parameter(uniform(gen, std, a.vocab, a.hidden), requires_grad=False)
        self.layers = torch.nn.ModuleList([Layer(gen, a, std) for _ in range(a.layers)])
        self.norm = torch.nn.Parameter(1 + uniform(gen, std, a.hidden), requires_grad=False)
        self.lm_head = self.embed if a.tied else torch.nn.Parameter(uniform(gen, std, a.vocab, a.hidden),
                                                                    requires_grad=False)
        self.a = a

    def forward(self, ids, labels):
        a = self.a
        B, T = ids.shape
        x = F.embedding(ids, self.embed)
        inv_freq = 1.0 / (a.rope_theta ** (torch.arange(0, a.head_dim, 2, dtype=torch.int64).float() / a.head_dim))
        freqs = torch.arange(T).float()[:, None] * inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]  # (1, 1, T, HS)
        mask = torch.full((T, T), torch.finfo(torch.float32).min).triu(1)[None, None]
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        logits = F.linear(rms_norm(x, self.norm, a.eps), self.lm_head).float()
        return F.cross_entropy(logits[:, :-1, :].reshape(-1, a.vocab), labels[:, 1:].reshape(-1), ignore_index=-100)


def openblas_handle(libs):
    """ctypes handle of the loaded OpenBLAS (to size its thread pool), or None when torch does not use OpenBLAS."""
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        if hasattr(lib, "openblas_set_num_threads") and hasattr(lib, "openblas_get_num_threads"):
            return lib
    return None


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return None


def main():
    ap = argparse.ArgumentParser()
    for name in ("vocab", "hidden", "ffn", "layers", "heads", "kv-heads", "seq", "rank", "alpha", "steps", "warmup",
                 "seed"):
        ap.add_argument("--" + name, type=int, required=name not in ("warmup", "seed"), default=None)
    ap.add_argument("--rope-theta", type=float, default=10000.0)
    ap.add_argument("--eps", type=float, default=1e-5)
    ap.add_argument("--tied", choices=("true", "false"), default="false")
    ap.add_argument("--head-dim", type=int, default=None, help="default: hidden / heads")
    ap.add_argument("--qk-norm", choices=("true", "false"), default="false")
    ap.add_argument("--threads", required=True, help="comma-separated thread counts")
    a = ap.parse_args()
    a.tied = a.tied == "true"
    a.warmup = 1 if a.warmup is None else a.warmup
    a.seed = 1 if a.seed is None else a.seed
    a.head_dim = a.hidden // a.heads if a.head_dim is None else a.head_dim
    a.qk_norm = a.qk_norm == "true"
    torch.manual_seed(a.seed)
    torch.mm(torch.ones(2, 2), torch.ones(2, 2))  # load the BLAS library before looking for it
    probed = blas_probe.checked()
    if probed is None:
        return 4
    blas, blas_lib = probed
    libs = [b["path"] for b in blas]
    openblas = openblas_handle(libs)
    t0 = time.perf_counter()
    model = Llama(a)
    build_s = time.perf_counter() - t0
    params = [p for p in model.parameters() if p.requires_grad]
    ids = torch.randint(0, a.vocab, (1, a.seq), generator=torch.Generator().manual_seed(a.seed + 1))
    runs = []
    for t in [int(x) for x in a.threads.split(",")]:
        torch.set_num_threads(t)
        if openblas is not None:  # torch.set_num_threads leaves OpenBLAS's own pthread pool at its default (all cores)
            openblas.openblas_set_num_threads(t)
        for layer in model.layers:  # every thread count starts from the PEFT init
            for m in (layer.q, layer.k, layer.v, layer.o, layer.gate, layer.up, layer.down):
                torch.nn.init.kaiming_uniform_(m.lora_A, a=math.sqrt(5))
                torch.nn.init.zeros_(m.lora_B)
        opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
        times, cpus, losses = [], [], []
        for s in range(a.warmup + a.steps):
            t0, c0 = time.perf_counter(), time.process_time()
            opt.zero_grad(set_to_none=True)
            loss = model(ids, ids)
            loss.backward()
            opt.step()
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            losses.append(loss.item())
            print("[torch_lora_step] threads=%d step %d%s: %.2f s (cpu %.2f s), loss %.4f"
                  % (t, s, " (warm-up)" if s < a.warmup else "", dt, cpu, losses[-1]), file=sys.stderr, flush=True)
            if s >= a.warmup:
                times.append(dt)
                cpus.append(cpu)
        med = statistics.median(times)
        runs.append({"threads": t, "blas_threads": openblas.openblas_get_num_threads() if openblas else None,
                     "step_s": [round(x, 3) for x in times], "median_step_s": round(med, 3),
                     "median_cpu_s": round(statistics.median(cpus), 3), "tok_s": round(a.seq / med, 3),
                     "loss_first": round(losses[0], 4), "loss_last": round(losses[-1], 4)})
        del opt
    print(json.dumps({"torch": torch.__version__, "blas_lib": blas_lib, "blas": blas, "build_s": round(build_s, 2),
                      "lora_params": sum(p.numel() for p in params), "peak_rss_mb": peak_rss_mb(), "runs": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
