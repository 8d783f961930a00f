#!/usr/bin/python3
"""Writes the LoRA parity fixtures under pipeline/src/test/resources/fixtures/lora_parity/.

Run with Debian's python3 + python3-torch (PyTorch 1.13, numpy):  /usr/bin/python3 pipeline/src/test/python/gen_lora_parity.py

For each small random model it writes a Hugging Face model directory and a PEFT adapter directory, plus the expected
values the Java engine must reproduce:
  <case>/config.json, <case>/model.safetensors          the base model (HF names, fp32)
  <case>/adapter/adapter_config.json, adapter_model.safetensors   PEFT LoRA adapter (lora_B NON-zero)
  <case>/expected.safetensors   input_ids, labels, position_ids (int32 [B, T]); NF4 codes + absmax of every linear
                                ("nf4.<weight name>.packed" u8, ".absmax" f32, blocksize 64, no double quant);
                                the gradient of the MEAN loss for every adapter tensor under its PEFT key, prefixed
                                "grad." (fp32 base) and "grad_nf4." (base = de-quantized NF4 weights)
  <case>/expected.json          loss (mean and sum), token count, the NF4 loss, and a 10-step AdamW loss trajectory

The model is written from Hugging Face's modeling_llama / modeling_qwen2 in plain torch (RMSNorm in fp32, rotate_half
RoPE with inv_freq = 1/theta^(arange(0, d, 2)/d), GQA via repeat_kv, SwiGLU MLP, tied or untied head, optional q/k/v
bias), LoRA as PEFT's lora.Linear defines it: result = base(x) + lora_B(lora_A(dropout(x))) * scaling with
scaling = alpha / r (alpha / sqrt(r) with use_rslora). Loss: HF's shifted cross-entropy, ignore_index -100, mean over
non-ignored targets. Packed documents: position_ids restart at 0 for each document and attention is block-diagonal
causal (what HF does for packed sequences with flash-attention varlen). Dropout is 0 (masks cannot match across RNGs).
"""
import json
import math
import os
import struct

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "fixtures", "lora_parity")

NF4 = np.array([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
                -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
                0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                0.7229568362236023, 1.0], dtype=np.float32)

MODULES = [("self_attn", "q_proj"), ("self_attn", "k_proj"), ("self_attn", "v_proj"), ("self_attn", "o_proj"),
           ("mlp", "gate_proj"), ("mlp", "up_proj"), ("mlp", "down_proj")]


def save_safetensors(path, tensors, metadata=None):
    dtypes = {np.dtype(np.float32): "F32", np.dtype(np.uint8): "U8", np.dtype(np.int32): "I32"}
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        b = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtypes[arr.dtype], "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def nf4_quantize(w, blocksize=64):
    """bitsandbytes blockwise NF4 (no double quant): absmax per block, nearest code by midpoints, first in high nibble."""
    flat = w.astype(np.float32).reshape(-1)
    n = flat.size
    nblocks = (n + blocksize - 1) // blocksize
    padded = np.zeros(nblocks * blocksize, dtype=np.float32)
    padded[:n] = flat
    absmax = np.abs(padded.reshape(nblocks, blocksize)).max(axis=1).astype(np.float32)
    scaled = np.clip(padded.reshape(nblocks, blocksize) / np.where(absmax == 0, 1, absmax)[:, None], -1, 1).reshape(-1)
    mids = (NF4[1:] + NF4[:-1]) / 2
    codes = np.searchsorted(mids, scaled[:n], side="left").astype(np.uint8)  # x > mid -> upper code
    if n % 2:
        codes = np.append(codes, 0).astype(np.uint8)
    packed = ((codes[0::2] << 4) | codes[1::2]).astype(np.uint8)
    deq = (NF4[codes[:n]] * np.repeat(absmax, blocksize)[:n]).astype(np.float32).reshape(w.shape)
    return packed, absmax, deq


def rms_norm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class LoraLinear:
    def __init__(self, w, b, lora_a, lora_b, scaling):
        self.w, self.b, self.a, self.bb, self.scaling = w, b, lora_a, lora_b, scaling

    def __call__(self, x):
        y = torch.nn.functional.linear(x, self.w, self.b)
        if self.a is not None:
            y = y + torch.nn.functional.linear(torch.nn.functional.linear(x, self.a), self.bb) * self.scaling
        return y


def forward_loss(cfg, weights, lora, scaling, input_ids, labels, position_ids):
    """HF LlamaForCausalLM / Qwen2ForCausalLM forward with PEFT LoRA; returns (mean loss, sum loss, tokens)."""
    C, NH, NKV, HS, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"], \
        cfg["num_hidden_layers"]
    eps = cfg["rms_norm_eps"]
    B, T = input_ids.shape
    x = weights["model.embed_tokens.weight"][input_ids]
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, HS, 2, dtype=torch.int64).float() / HS))
    freqs = position_ids[..., None].float() * inv_freq[None, None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]  # (B, 1, T, HS)
    doc = torch.cumsum((position_ids == 0).long(), dim=-1)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    allowed = causal[None] & (doc[:, :, None] == doc[:, None, :])  # (B, T, T)
    mask = torch.zeros(B, 1, T, T).masked_fill(~allowed[:, None], torch.finfo(torch.float32).min)
    for l in range(L):
        p = f"model.layers.{l}."

        def lin(group, name):
            key = p + f"{group}.{name}"
            ab = lora.get(key)
            return LoraLinear(weights[key + ".weight"], weights.get(key + ".bias"),
                              None if ab is None else ab[0], None if ab is None else ab[1], scaling)

        h = rms_norm(x, weights[p + "input_layernorm.weight"], eps)
        q = lin("self_attn", "q_proj")(h).view(B, T, NH, HS).transpose(1, 2)
        k = lin("self_attn", "k_proj")(h).view(B, T, NKV, HS).transpose(1, 2)
        v = lin("self_attn", "v_proj")(h).view(B, T, NKV, HS).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(NH // NKV, dim=1)  # repeat_kv
        v = v.repeat_interleave(NH // NKV, dim=1)
        att = torch.matmul(q, k.transpose(2, 3)) * HS ** -0.5 + mask
        att = torch.softmax(att, dim=-1, dtype=torch.float32)
        o = torch.matmul(att, v).transpose(1, 2).reshape(B, T, NH * HS)
        x = x + lin("self_attn", "o_proj")(o)
        h = rms_norm(x, weights[p + "post_attention_layernorm.weight"], eps)
        g = lin("mlp", "gate_proj")(h)
        u = lin("mlp", "up_proj")(h)
        x = x + lin("mlp", "down_proj")(torch.nn.functional.silu(g) * u)
    x = rms_norm(x, weights["model.norm.weight"], eps)
    head = weights["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else weights["lm_head.weight"]
    logits = torch.nn.functional.linear(x, head)
    shift_logits = logits[:, :-1, :].reshape(-1, logits.shape[-1])
    shift_labels = labels[:, 1:].reshape(-1)
    loss_sum = torch.nn.functional.cross_entropy(shift_logits, shift_labels, ignore_index=-100, reduction="sum")
    tokens = int((shift_labels != -100).sum())
    return loss_sum / tokens, loss_sum, tokens


def make_case(name, cfg, lora_cfg, B, T, packed, seed):
    g = torch.Generator().manual_seed(seed)
    C, F, V, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    QD = cfg["num_attention_heads"] * cfg["head_dim"]
    KVD = cfg["num_key_value_heads"] * cfg["head_dim"]
    shapes = {"q_proj": (QD, C), "k_proj": (KVD, C), "v_proj": (KVD, C), "o_proj": (C, QD),
              "gate_proj": (F, C), "up_proj": (F, C), "down_proj": (C, F)}

    def randn(*shape, std=1.0):
        return torch.randn(*shape, generator=g) * std

    weights = {"model.embed_tokens.weight": randn(V, C, std=0.5)}
    for l in range(L):
        p = f"model.layers.{l}."
        weights[p + "input_layernorm.weight"] = 1 + randn(C, std=0.1)
        weights[p + "post_attention_layernorm.weight"] = 1 + randn(C, std=0.1)
        for group, mod in MODULES:
            out_f, in_f = shapes[mod]
            weights[p + f"{group}.{mod}.weight"] = randn(out_f, in_f, std=1 / math.sqrt(in_f))
            if cfg.get("attention_bias") and mod in ("q_proj", "k_proj", "v_proj"):
                weights[p + f"{group}.{mod}.bias"] = randn(out_f, std=0.1)
    weights["model.norm.weight"] = 1 + randn(C, std=0.1)
    if not cfg["tie_word_embeddings"]:
        weights["lm_head.weight"] = randn(V, C, std=0.5)

    r, alpha = lora_cfg["r"], lora_cfg["lora_alpha"]
    scaling = alpha / math.sqrt(r) if lora_cfg["use_rslora"] else alpha / r
    lora = {}
    for l in range(L):
        for group, mod in MODULES:
            if mod not in lora_cfg["target_modules"]:
                continue
            out_f, in_f = shapes[mod]
            # A as PEFT's kaiming-uniform scale, B non-zero (PEFT would start at zero) so that dA != 0
            lora[f"model.layers.{l}.{group}.{mod}"] = (randn(r, in_f, std=1 / math.sqrt(in_f)), randn(out_f, r, std=0.1))

    input_ids = torch.randint(0, V, (B, T), generator=g)
    labels = input_ids.clone()
    labels[:, :3] = -100  # a masked "prompt"
    labels[0, T // 2] = -100
    if packed:
        position_ids = torch.cat([torch.arange(0, T // 2 + 1), torch.arange(0, T - T // 2 - 1)])[None].repeat(B, 1)
        position_ids[-1] = torch.arange(T)
    else:
        position_ids = torch.arange(T)[None].repeat(B, 1)

    def run(base):
        params = []
        for a_, b_ in lora.values():
            a_.requires_grad_(True)
            b_.requires_grad_(True)
            a_.grad = None
            b_.grad = None
            params += [a_, b_]
        mean, total, tokens = forward_loss(cfg, base, lora, scaling, input_ids, labels, position_ids)
        mean.backward()
        grads = {}
        for key, (a_, b_) in lora.items():
            grads[f"base_model.model.{key}.lora_A.weight"] = a_.grad.detach().numpy().copy()
            grads[f"base_model.model.{key}.lora_B.weight"] = b_.grad.detach().numpy().copy()
        return float(mean), float(total), tokens, grads

    loss, loss_sum, tokens, grads = run(weights)
    nf4_tensors, deq_weights = {}, dict(weights)
    for wname, w in weights.items():
        if any(wname.endswith(f"{mod}.weight") for _, mod in MODULES):
            packed_w, absmax, deq = nf4_quantize(w.numpy())
            nf4_tensors[f"nf4.{wname}.packed"] = packed_w
            nf4_tensors[f"nf4.{wname}.absmax"] = absmax
            deq_weights[wname] = torch.from_numpy(deq)
    loss_nf4, loss_sum_nf4, _, grads_nf4 = run(deq_weights)

    # 10 AdamW steps (fp32 base, same batch each step): the loss before each step
    adam = {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01, "steps": 10}
    init = {k: (a_.detach().clone(), b_.detach().clone()) for k, (a_, b_) in lora.items()}
    opt_params = []
    for a_, b_ in lora.values():
        opt_params += [a_, b_]
    opt = torch.optim.AdamW(opt_params, lr=adam["lr"], betas=tuple(adam["betas"]), eps=adam["eps"],
                            weight_decay=adam["weight_decay"])
    trajectory = []
    for _ in range(adam["steps"]):
        opt.zero_grad()
        mean, _, _ = forward_loss(cfg, weights, lora, scaling, input_ids, labels, position_ids)
        mean.backward()
        trajectory.append(float(mean))
        opt.step()
    for k, (a0, b0) in init.items():  # restore the adapter that the files hold
        lora[k][0].data.copy_(a0)
        lora[k][1].data.copy_(b0)

    d = os.path.join(OUT, name)
    os.makedirs(os.path.join(d, "adapter"), exist_ok=True)
    full_cfg = dict(cfg)
    full_cfg.update({"model_type": cfg["model_type"], "hidden_act": "silu", "max_position_embeddings": 128,
                     "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"})
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(full_cfg, f, indent=2)
    save_safetensors(os.path.join(d, "model.safetensors"), {k: v.numpy() for k, v in weights.items()},
                     {"format": "pt"})
    adapter_cfg = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": alpha, "lora_dropout": 0.0,
                   "target_modules": lora_cfg["target_modules"], "bias": "none", "fan_in_fan_out": False,
                   "use_rslora": lora_cfg["use_rslora"], "use_dora": False, "init_lora_weights": True,
                   "base_model_name_or_path": name, "inference_mode": True, "modules_to_save": None}
    with open(os.path.join(d, "adapter", "adapter_config.json"), "w") as f:
        json.dump(adapter_cfg, f, indent=2)
    adapter_tensors = {}
    for key, (a_, b_) in lora.items():
        adapter_tensors[f"base_model.model.{key}.lora_A.weight"] = a_.detach().numpy()
        adapter_tensors[f"base_model.model.{key}.lora_B.weight"] = b_.detach().numpy()
    save_safetensors(os.path.join(d, "adapter", "adapter_model.safetensors"), adapter_tensors, {"format": "pt"})
    expected = {"input_ids": input_ids.numpy().astype(np.int32), "labels": labels.numpy().astype(np.int32),
                "position_ids": position_ids.numpy().astype(np.int32)}
    expected.update(nf4_tensors)
    expected.update({"grad." + k: v for k, v in grads.items()})
    expected.update({"grad_nf4." + k: v for k, v in grads_nf4.items()})
    save_safetensors(os.path.join(d, "expected.safetensors"), expected)
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump({"source": "pipeline/src/test/python/gen_lora_parity.py (torch " + torch.__version__ + ")",
                   "packed": packed, "loss": loss, "loss_sum": loss_sum, "tokens": tokens,
                   "loss_nf4": loss_nf4, "loss_sum_nf4": loss_sum_nf4, "nf4_blocksize": 64,
                   "adamw": adam, "adamw_loss_trajectory": trajectory}, f, indent=2)
    print(f"{name}: loss {loss:.6f} ({tokens} tokens), nf4 {loss_nf4:.6f}, adamw {trajectory[0]:.4f} -> "
          f"{trajectory[-1]:.4f}")


def main():
    torch.set_num_threads(1)
    all_linear = [m for _, m in MODULES]
    llama = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 64, "hidden_size": 32,
             "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
             "head_dim": 8, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
             "attention_bias": False}
    make_case("llama_gqa", llama, {"r": 4, "lora_alpha": 8, "use_rslora": False, "target_modules": all_linear},
              B=2, T=12, packed=False, seed=1)
    qwen2 = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 40, "hidden_size": 16,
             "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
             "head_dim": 8, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": True,
             "attention_bias": True}
    make_case("qwen2_tied_packed", qwen2, {"r": 4, "lora_alpha": 16, "use_rslora": True,
                                           "target_modules": ["q_proj", "v_proj", "o_proj", "up_proj", "down_proj"]},
              B=2, T=10, packed=True, seed=2)


if __name__ == "__main__":
    main()
