#!/usr/bin/python3
"""Reference values for LakeLoRA's optimizer, schedules and PiSSA init, written by PyTorch.

Run with Debian's torch (1.13):  /usr/bin/python3 pipeline/src/test/python/gen_train_fixtures.py
Writes pipeline/src/test/resources/fixtures/train/{adamw_trajectory,schedules,pissa}.json (a few KB each).

- AdamW: torch.optim.AdamW (single-tensor path) with torch.nn.utils.clip_grad_norm_ and a LambdaLR schedule, 10 steps
  on two parameter tensors (37 and 5x3 floats) from fixed gradients; after every step: lr used, grad norm, params,
  exp_avg, exp_avg_sq.
- Schedules: the lr_lambda functions of Hugging Face transformers' optimization.py (transcribed below, transformers is
  not installed here: get_constant_schedule_with_warmup, get_linear_schedule_with_warmup,
  get_cosine_schedule_with_warmup with num_cycles=0.5) driven through torch's LambdaLR.
- PiSSA: the steps of peft's LoraLayer.pissa_init (peft/tuners/lora/layer.py) on a fixed 6x5 matrix, r=2, alpha=4.
"""
import json
import math
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "fixtures", "train")


def floats(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


# --- transformers' lr lambdas (optimization.py) ---
def constant_with_warmup(step, warmup):
    if step < warmup:
        return float(step) / float(max(1.0, warmup))
    return 1.0


def linear_with_warmup(step, warmup, total):
    if step < warmup:
        return float(step) / float(max(1, warmup))
    return max(0.0, float(total - step) / float(max(1, total - warmup)))


def cosine_with_warmup(step, warmup, total, num_cycles=0.5):
    if step < warmup:
        return float(step) / float(max(1, warmup))
    progress = float(step - warmup) / float(max(1, total - warmup))
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))


def lam(kind, warmup, total):
    if kind == "constant":
        return lambda s: constant_with_warmup(s, warmup)
    if kind == "linear":
        return lambda s: linear_with_warmup(s, warmup, total)
    return lambda s: cosine_with_warmup(s, warmup, total)


def adamw_case(name, lr, betas, eps, wd, max_norm, kind, warmup, total, grad_scales):
    g = torch.Generator().manual_seed(1234)
    p = torch.randn(37, generator=g)
    q = torch.randn(5, 3, generator=g)
    p.requires_grad_(True)
    q.requires_grad_(True)
    init = floats(p) + floats(q)
    opt = torch.optim.AdamW([p, q], lr=lr, betas=betas, eps=eps, weight_decay=wd)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lam(kind, warmup, total))
    steps = []
    for k, scale in enumerate(grad_scales):
        gp = torch.randn(37, generator=g) * scale
        gq = torch.randn(5, 3, generator=g) * scale
        p.grad = gp.clone()
        q.grad = gq.clone()
        used_lr = opt.param_groups[0]["lr"]
        if max_norm > 0:
            norm = float(torch.nn.utils.clip_grad_norm_([p, q], max_norm))
        else:
            norm = float(torch.norm(torch.stack([torch.norm(gp), torch.norm(gq)])))
        opt.step()
        sched.step()
        st_p, st_q = opt.state[p], opt.state[q]
        steps.append({
            "grad": floats(gp) + floats(gq),
            "lr": used_lr,
            "grad_norm": norm,
            "params": floats(p) + floats(q),
            "exp_avg": floats(st_p["exp_avg"]) + floats(st_q["exp_avg"]),
            "exp_avg_sq": floats(st_p["exp_avg_sq"]) + floats(st_q["exp_avg_sq"]),
        })
    return {"name": name, "lr": lr, "betas": list(betas), "eps": eps, "weight_decay": wd, "max_grad_norm": max_norm,
            "schedule": kind, "warmup_steps": warmup, "total_steps": total, "init": init, "steps": steps}


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    cases = [
        adamw_case("plain", 1e-2, (0.9, 0.999), 1e-8, 0.1, 0.0, "constant", 0, 10, [1.0] * 10),
        adamw_case("clip_cosine_warmup", 2e-2, (0.9, 0.95), 1e-6, 0.01, 1.0, "cosine", 3, 10,
                   [0.05, 3.0, 0.1, 10.0, 0.01, 1.0, 0.2, 5.0, 0.03, 0.5]),
    ]
    with open(os.path.join(OUT, "adamw_trajectory.json"), "w") as f:
        json.dump({"source": "torch " + torch.__version__ + " torch.optim.AdamW + clip_grad_norm_ + LambdaLR",
                   "cases": cases}, f)

    sched = []
    for kind in ["constant", "linear", "cosine"]:
        for warmup in [0, 3]:
            total = 10
            dummy = torch.nn.Parameter(torch.zeros(1))
            opt = torch.optim.SGD([dummy], lr=2e-4)
            s = torch.optim.lr_scheduler.LambdaLR(opt, lam(kind, warmup, total))
            lrs = []
            for _ in range(13):
                lrs.append(opt.param_groups[0]["lr"])
                opt.step()
                s.step()
            sched.append({"type": kind, "base_lr": 2e-4, "warmup_steps": warmup, "total_steps": total, "lrs": lrs})
    with open(os.path.join(OUT, "schedules.json"), "w") as f:
        json.dump({"source": "transformers optimization.py lr lambdas via torch LambdaLR", "cases": sched}, f)

    # --- peft pissa_init, transcribed ---
    g = torch.Generator().manual_seed(7)
    w = torch.randn(6, 5, generator=g)
    r, alpha = 2, 4.0
    scaling = alpha / r
    V, S, Uh = torch.linalg.svd(w.data, full_matrices=False)
    Vr = V[:, :r]
    Sr = S[:r].clone()
    Sr /= scaling
    Uhr = Uh[:r]
    lora_A = torch.diag(torch.sqrt(Sr)) @ Uhr
    lora_B = Vr @ torch.diag(torch.sqrt(Sr))
    residual = w.data - scaling * lora_B @ lora_A
    with open(os.path.join(OUT, "pissa.json"), "w") as f:
        json.dump({"source": "peft LoraLayer.pissa_init steps in torch " + torch.__version__,
                   "out": 6, "in": 5, "r": r, "lora_alpha": alpha, "weight": floats(w),
                   "lora_A": floats(lora_A), "lora_B": floats(lora_B), "residual": floats(residual)}, f)


if __name__ == "__main__":
    main()
