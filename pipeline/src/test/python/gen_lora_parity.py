#!/usr/bin/python3
"""Writes the LoRA parity fixtures under pipeline/src/test/resources/fixtures/lora_parity/.

Run with Debian's python3 + python3-torch (PyTorch 1.13, numpy):  /usr/bin/python3 pipeline/src/test/python/gen_lora_parity.py
(optionally followed by case names, e.g. `qwen3_tied_packed gemma3_sliding`, to write only those).

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
bias), modeling_qwen3 (Qwen3RMSNorm q_norm / k_norm over head_dim per head, before RoPE; head_dim independent of
hidden_size / heads; no bias) and modeling_gemma3 (Gemma3TextScaledWordEmbedding: embeddings times
torch.tensor(hidden_size ** 0.5); Gemma3RMSNorm: x * rsqrt(mean(x^2) + eps) * (1 + w); input_layernorm,
post_attention_layernorm on the attention output, pre_feedforward_layernorm, post_feedforward_layernorm on the MLP
output; q_norm / k_norm; scores times query_pre_attn_scalar ** -0.5; layer_types from sliding_window_pattern, sliding
layers masked to the last sliding_window keys and rotated with rope_local_base_freq, global layers with rope_theta and
rope_scaling (linear: inv_freq / factor); gelu_pytorch_tanh gate; tied head), LoRA as PEFT's lora.Linear defines it: result = base(x) + lora_B(lora_A(dropout(x))) * scaling with
scaling = alpha / r (alpha / sqrt(r) with use_rslora). Loss: HF's shifted cross-entropy, ignore_index -100, mean over
non-ignored targets. Packed documents: position_ids restart at 0 for each document and attention is block-diagonal
causal (what HF does for packed sequences with flash-attention varlen). Dropout is 0 (masks cannot match across RNGs).
"""
import json
import math
import os
import struct
import sys

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


def gemma_rms_norm(x, w, eps):
    """Gemma3RMSNorm: the stored weight is an offset from 1."""
    out = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return out * (1.0 + w)


def layer_types(cfg):
    """Gemma3TextConfig: layer_types, or from sliding_window_pattern (default 6); other families: all global."""
    L = cfg["num_hidden_layers"]
    if cfg["model_type"] != "gemma3_text":
        return ["full_attention"] * L
    if cfg.get("layer_types"):
        return cfg["layer_types"]
    pattern = cfg.get("sliding_window_pattern", 6)
    return ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(L)]


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
    """HF Llama/Qwen2/Qwen3/Gemma3ForCausalLM forward with PEFT LoRA; returns (mean loss, sum loss, tokens)."""
    C, NH, NKV, HS, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"], \
        cfg["num_hidden_layers"]
    eps = cfg["rms_norm_eps"]
    gemma = cfg["model_type"] == "gemma3_text"
    qk_norm = cfg["model_type"] in ("qwen3", "gemma3_text")
    norm = gemma_rms_norm if gemma else rms_norm
    types = layer_types(cfg)
    B, T = input_ids.shape
    x = weights["model.embed_tokens.weight"][input_ids]
    if gemma:
        x = x * torch.tensor(C ** 0.5).to(x.dtype)

    def rope_tables(theta, factor):
        inv_freq = 1.0 / (theta ** (torch.arange(0, HS, 2, dtype=torch.int64).float() / HS))
        inv_freq = inv_freq / factor
        freqs = position_ids[..., None].float() * inv_freq[None, None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos()[:, None], emb.sin()[:, None]  # (B, 1, T, HS)

    scaling_cfg = cfg.get("rope_scaling") or {}
    factor = scaling_cfg.get("factor", 1.0) if scaling_cfg.get("rope_type") == "linear" else 1.0
    rope = {"full_attention": rope_tables(cfg["rope_theta"], factor)}
    if gemma:
        rope["sliding_attention"] = rope_tables(cfg["rope_local_base_freq"], 1.0)
    doc = torch.cumsum((position_ids == 0).long(), dim=-1)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    allowed = causal[None] & (doc[:, :, None] == doc[:, None, :])  # (B, T, T)
    masks = {"full_attention": torch.zeros(B, 1, T, T).masked_fill(~allowed[:, None], torch.finfo(torch.float32).min)}
    if gemma:
        # sliding_window_overlay: kv_idx > q_idx - sliding_window
        i = torch.arange(T)
        in_window = (i[None, :] > i[:, None] - cfg["sliding_window"])[None]
        masks["sliding_attention"] = torch.zeros(B, 1, T, T).masked_fill(~(allowed & in_window)[:, None],
                                                                         torch.finfo(torch.float32).min)
    scale = cfg["query_pre_attn_scalar"] ** -0.5 if gemma else HS ** -0.5
    for l in range(L):
        p = f"model.layers.{l}."
        cos, sin = rope[types[l]]
        mask = masks[types[l]]

        def lin(group, name):
            key = p + f"{group}.{name}"
            ab = lora.get(key)
            return LoraLinear(weights[key + ".weight"], weights.get(key + ".bias"),
                              None if ab is None else ab[0], None if ab is None else ab[1], scaling)

        h = norm(x, weights[p + "input_layernorm.weight"], eps)
        q = lin("self_attn", "q_proj")(h).view(B, T, NH, HS).transpose(1, 2)
        k = lin("self_attn", "k_proj")(h).view(B, T, NKV, HS).transpose(1, 2)
        v = lin("self_attn", "v_proj")(h).view(B, T, NKV, HS).transpose(1, 2)
        if qk_norm:
            q = norm(q, weights[p + "self_attn.q_norm.weight"], eps)
            k = norm(k, weights[p + "self_attn.k_norm.weight"], eps)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(NH // NKV, dim=1)  # repeat_kv
        v = v.repeat_interleave(NH // NKV, dim=1)
        att = torch.matmul(q, k.transpose(2, 3)) * scale + mask
        att = torch.softmax(att, dim=-1, dtype=torch.float32)
        o = torch.matmul(att, v).transpose(1, 2).reshape(B, T, NH * HS)
        o = lin("self_attn", "o_proj")(o)
        if gemma:
            o = norm(o, weights[p + "post_attention_layernorm.weight"], eps)
        x = x + o
        h = norm(x, weights[p + ("pre_feedforward_layernorm.weight" if gemma else "post_attention_layernorm.weight")],
                 eps)
        g = lin("mlp", "gate_proj")(h)
        u = lin("mlp", "up_proj")(h)
        act = torch.nn.functional.gelu(g, approximate="tanh") if gemma else torch.nn.functional.silu(g)
        d = lin("mlp", "down_proj")(act * u)
        if gemma:
            d = norm(d, weights[p + "post_feedforward_layernorm.weight"], eps)
        x = x + d
    x = norm(x, weights["model.norm.weight"], eps)
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

    gemma = cfg["model_type"] == "gemma3_text"
    one = 0.0 if gemma else 1.0  # Gemma3RMSNorm stores the offset from 1
    HS = cfg["head_dim"]
    weights = {"model.embed_tokens.weight": randn(V, C, std=0.5 / math.sqrt(C) if gemma else 0.5)}
    for l in range(L):
        p = f"model.layers.{l}."
        weights[p + "input_layernorm.weight"] = one + randn(C, std=0.1)
        weights[p + "post_attention_layernorm.weight"] = one + randn(C, std=0.1)
        if gemma:
            weights[p + "pre_feedforward_layernorm.weight"] = one + randn(C, std=0.1)
            weights[p + "post_feedforward_layernorm.weight"] = one + randn(C, std=0.1)
        if cfg["model_type"] in ("qwen3", "gemma3_text"):
            weights[p + "self_attn.q_norm.weight"] = one + randn(HS, std=0.1)
            weights[p + "self_attn.k_norm.weight"] = one + randn(HS, std=0.1)
        for group, mod in MODULES:
            out_f, in_f = shapes[mod]
            weights[p + f"{group}.{mod}.weight"] = randn(out_f, in_f, std=1 / math.sqrt(in_f))
            if cfg.get("attention_bias") and mod in ("q_proj", "k_proj", "v_proj"):
                weights[p + f"{group}.{mod}.bias"] = randn(out_f, std=0.1)
    weights["model.norm.weight"] = one + randn(C, std=0.1)
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
    full_cfg.update({"model_type": cfg["model_type"], "max_position_embeddings": 128,
                     "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"})
    if gemma:
        full_cfg.update({"hidden_activation": "gelu_pytorch_tanh", "final_logit_softcapping": None,
                         "attn_logit_softcapping": None})
    else:
        full_cfg["hidden_act"] = "silu"
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
    only = set(sys.argv[1:])
    all_linear = [m for _, m in MODULES]

    def case(name, *args, **kwargs):
        if not only or name in only:
            make_case(name, *args, **kwargs)

    llama = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 64, "hidden_size": 32,
             "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
             "head_dim": 8, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
             "attention_bias": False}
    case("llama_gqa", llama, {"r": 4, "lora_alpha": 8, "use_rslora": False, "target_modules": all_linear},
              B=2, T=12, packed=False, seed=1)
    qwen2 = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 40, "hidden_size": 16,
             "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
             "head_dim": 8, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": True,
             "attention_bias": True}
    case("qwen2_tied_packed", qwen2, {"r": 4, "lora_alpha": 16, "use_rslora": True,
                                           "target_modules": ["q_proj", "v_proj", "o_proj", "up_proj", "down_proj"]},
              B=2, T=10, packed=True, seed=2)
    # Qwen3: head_dim 16 while hidden / heads = 8 (q_proj 64 x 32), q/k norms, tied like the 0.6B-4B models
    qwen3 = {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": 64, "hidden_size": 32,
             "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
             "head_dim": 16, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": True,
             "attention_bias": False, "use_sliding_window": False}
    case("qwen3_tied_packed", qwen3, {"r": 4, "lora_alpha": 8, "use_rslora": False, "target_modules": all_linear},
         B=2, T=12, packed=True, seed=3)
    # Gemma 3 (transformers 4.5x config keys): layers sliding, sliding, global (sliding_window_pattern 3) with a window
    # of 4 < T, query_pre_attn_scalar 24 != head_dim 16, global RoPE 1e6 scaled linearly by 8 (as the 4B+ models),
    # local RoPE 1e4
    gemma3 = {"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "vocab_size": 64,
              "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3, "num_attention_heads": 2,
              "num_key_value_heads": 1, "head_dim": 16, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
              "rope_local_base_freq": 10000.0, "rope_scaling": {"rope_type": "linear", "factor": 8.0},
              "sliding_window": 4, "sliding_window_pattern": 3, "query_pre_attn_scalar": 24,
              "tie_word_embeddings": True, "attention_bias": False, "pad_token_id": 0}
    case("gemma3_sliding", gemma3, {"r": 4, "lora_alpha": 16, "use_rslora": True,
                                    "target_modules": ["q_proj", "k_proj", "o_proj", "gate_proj", "down_proj"]},
         B=2, T=12, packed=True, seed=4)


if __name__ == "__main__":
    main()
