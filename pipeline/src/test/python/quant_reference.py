#!/usr/bin/python3
"""Reference for LakeLoRA's bitsandbytes-style quantization (QuantizerTest), written in numpy from the algorithm as
bitsandbytes implements it (not from the Java code):

  csrc/kernels.cu (csrc/cuda/blockwise_quantization.cu in newer trees): kQuantizeBlockwise, dQuantizeNF4,
  dQuantizeFP4, dQuantize<0>; bitsandbytes/functional.py: quantize_4bit, create_dynamic_map, get_4bit_type;
  int8_vectorwise_quant / int8_vectorwise_dequant.

Decision rules, in the vectorized form used here (the Java code uses the kernels' branch trees):
  * NF4/FP4: code = number of fp32 thresholds t (the kernel's hard-coded midpoints) with x > t, x = value * (1/absmax).
  * 8-bit dynamic map: code = number of i in 0..254 with x > m_i (i even) or x >= m_i (i odd),
    m_i = fp32((code[i] + code[i+1]) * 0.5)  -- the tie rule of dQuantize<0>'s bracket search.
  * int8: q = rint(x * fp32(127 / rowmax)), half to even.

Writes pipeline/src/test/resources/fixtures/quant/quant_cases.json. Arrays are base64 of little-endian bytes
(f32 for floats, u8 for codes, i8 for int8), so every bit (including -0.0) is compared exactly.

Run:  /usr/bin/python3 pipeline/src/test/python/quant_reference.py
If PyTorch is importable, the dynamic map is also checked against torch.linspace run the bitsandbytes way.
"""
import base64
import json
import os
from fractions import Fraction

import numpy as np

f32 = np.float32


def f32_literal(s):
    """A C/CUDA fp32 literal: the decimal string rounded directly to the nearest float32 (ties to even). Going through
    a Python float (fp64) first rounds twice, which gives a different float for 4 of dQuantizeNF4's thresholds: they
    are printed fp64 midpoints of two fp32 values, i.e. (almost) exact fp32 ties."""
    exact = Fraction(s)
    c = f32(float(s))
    cands = [np.nextafter(c, f32(-np.inf)), c, np.nextafter(c, f32(np.inf))]
    return min(cands, key=lambda v: (abs(Fraction(float(v)) - exact), int(np.array(v).view(np.uint32)) & 1))


def f32_literals(strings):
    return np.array([f32_literal(t) for t in strings], dtype=f32)


NF4_CODE = np.array([
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
    -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
    0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
], dtype=f32)
# dQuantizeNF4's thresholds, ascending (fp32 literals of the kernel)
NF4_THRESH = f32_literals([
    "-0.8480964004993439", "-0.6106329262256622", "-0.4599952697753906", "-0.33967943489551544",
    "-0.23460740596055984", "-0.13791173323988914", "-0.045525018125772476", "0.03979014977812767",
    "0.1202552504837513", "0.2035212516784668", "0.2920137718319893", "0.3893125355243683", "0.5016634166240692",
    "0.6427869200706482", "0.8614784181118011",
])
# FP4 (E2M1): bit pattern -> value, as get_4bit_type("fp4"): the table divided by its max (12) in fp32
FP4_CODE = (np.array([0, 0.0625, 8, 12, 4, 6, 2, 3, -0.0, -0.0625, -8, -12, -4, -6, -2, -3], dtype=f32) / f32(12))
# dQuantizeFP4's magnitude thresholds, ascending; magnitude rank -> 3-bit pattern
FP4_THRESH = f32_literals(["0.00260417", "0.0859375", "0.20833333", "0.29166667", "0.4166667", "0.583333",
                           "0.8333333"])
FP4_RANK_TO_BITS = np.array([0b000, 0b001, 0b110, 0b111, 0b100, 0b101, 0b010, 0b011], dtype=np.uint8)


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def bits(x):
    return int(np.array(x, dtype=f32).view(np.uint32))


# ---------------------------------------------------------------- dynamic map
def fma32(a, b, c):
    # a*b is exact in fp64 for fp32 a, b; one rounding of the sum to fp64, then to fp32 (fine for these inputs)
    return f32(np.float64(a) * np.float64(b) + np.float64(c))


def torch_linspace_f32(start, end, steps):
    """torch.linspace (fp32, x86-64 CPU kernel, AVX2): first half counts up from start, second half down from end;
    runs of 16 are two 8-lane vectors (lane 0 fused multiply-add, lanes k: lane0 + k*step), the tail is scalar fused."""
    start, end = f32(start), f32(end)
    step = (end - start) / f32(steps - 1)
    half = steps // 2

    def scalar(i):
        return fma32(step, f32(i), start) if i < half else fma32(-step, f32(steps - i - 1), end)

    out = np.empty(steps, dtype=f32)
    i = 0
    while i + 16 <= steps:
        for base_i in (i, i + 8):
            base = scalar(base_i)
            out[base_i] = base
            for k in range(1, 8):
                out[base_i + k] = base + f32(k) * step
        i += 16
    for j in range(i, steps):
        out[j] = scalar(j)
    return out


def dynamic_map(linspace):
    """create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8)."""
    data = []
    for i in range(7):
        b = linspace(0.1, 1.0, 2 ** i + 1)
        means = (b[:-1] + b[1:]) / f32(2.0)
        scale = f32(10.0 ** (i - 6))
        data += list(scale * means)
        data += list(-scale * means)
    data += [f32(0.0), f32(1.0)]
    assert len(data) == 256
    return np.array(sorted(data), dtype=f32)


def dynamic_map_torch():
    try:
        import torch
    except ImportError:
        return None
    data = []
    for i in range(7):
        b = torch.linspace(0.1, 1, 2 ** i + 1)
        means = (b[:-1] + b[1:]) / 2.0
        data += ((10 ** (-6 + i)) * means).tolist()
        data += (-(10 ** (-6 + i)) * means).tolist()
    data += [0, 1.0]
    data.sort()
    return torch.tensor(data, dtype=torch.float32).numpy(), torch.__version__


DYN = dynamic_map(torch_linspace_f32)
DYN_MID = ((DYN[:-1] + DYN[1:]) * f32(0.5)).astype(f32)


def encode_dynamic(x):
    x = np.asarray(x, dtype=f32)[..., None]
    even = (np.arange(255) % 2) == 0
    up = np.where(even, x > DYN_MID, x >= DYN_MID)
    return up.sum(axis=-1).astype(np.uint8)


def encode_nf4(x):
    return (np.asarray(x, dtype=f32)[..., None] > NF4_THRESH).sum(axis=-1).astype(np.uint8)


def encode_fp4(x):
    x = np.asarray(x, dtype=f32)
    rank = (np.abs(x)[..., None] > FP4_THRESH).sum(axis=-1)
    return (FP4_RANK_TO_BITS[rank] | np.where(x < 0, 8, 0)).astype(np.uint8)


# ---------------------------------------------------------------- blockwise 4-bit
def quantize_4bit(w, qtype, blocksize, double_quant):
    flat = np.asarray(w, dtype=f32).reshape(-1)
    n = flat.size
    blocks = -(-n // blocksize)
    padded = np.zeros(blocks * blocksize, dtype=f32)  # the kernel loads out-of-range elements as 0.0
    padded[:n] = flat
    pb = padded.reshape(blocks, blocksize)
    absmax = np.abs(pb).max(axis=1).astype(f32)
    # absmax counts only the real elements; zero padding cannot raise it
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = (f32(1.0) / absmax).astype(f32)
        scaled = (pb * inv[:, None]).astype(f32).reshape(-1)
    codes = encode_nf4(scaled) if qtype == "nf4" else encode_fp4(scaled)
    n_codes = n + (n % 2)  # keep the pad code of an odd count, drop whole padding pairs
    codes = codes[:n_codes]
    packed = ((codes[0::2] << 4) | codes[1::2]).astype(np.uint8)
    table = NF4_CODE if qtype == "nf4" else FP4_CODE
    out = {"packed": b64(packed)}
    if not double_quant:
        block_absmax = absmax
        out["absmax"] = b64(absmax)
    else:
        offset = f32(np.mean(absmax.astype(np.float64)))
        centered = (absmax - offset).astype(f32)
        nb = -(-blocks // 256)
        cpad = np.zeros(nb * 256, dtype=f32)
        cpad[:blocks] = centered
        cb = cpad.reshape(nb, 256)
        nested_absmax = np.abs(cb).max(axis=1).astype(f32)
        with np.errstate(divide="ignore", invalid="ignore"):
            ninv = (f32(1.0) / nested_absmax).astype(f32)
            nscaled = (cb * ninv[:, None]).astype(f32).reshape(-1)[:blocks]
        acodes = encode_dynamic(nscaled)
        # dequantize_blockwise then `absmax += offset`
        block_absmax = ((DYN[acodes] * np.repeat(nested_absmax, 256)[:blocks]).astype(f32) + offset).astype(f32)
        out.update({"absmax_codes": b64(acodes), "nested_absmax": b64(nested_absmax), "offset": bits(offset)})
    idx = codes[:n]
    deq = (table[idx] * np.repeat(block_absmax, blocksize)[:n]).astype(f32)
    out["dequant"] = b64(deq)
    return out


# ---------------------------------------------------------------- int8 (LLM.int8 vectorwise)
def quantize_int8(w):
    w = np.asarray(w, dtype=f32)
    rowmax = np.abs(w).max(axis=1).astype(f32)
    q = np.zeros(w.shape, dtype=np.int8)
    nz = rowmax > 0
    scale = (f32(127.0) / rowmax[nz]).astype(f32)
    q[nz] = np.rint((w[nz] * scale[:, None]).astype(f32)).astype(np.int8)
    deq = ((q.astype(f32) * rowmax[:, None]).astype(f32) * f32_literal("7.874015718698502e-3")).astype(f32)
    return {"q": b64(q), "row_scale": b64(rowmax), "dequant": b64(deq)}


# ---------------------------------------------------------------- inputs
def around(t):
    t = f32(t)
    return [np.nextafter(t, f32(-np.inf)), t, np.nextafter(t, f32(np.inf))]


def inputs():
    rng = np.random.RandomState(20240513)
    ins = {}
    ins["randn_7x9"] = rng.randn(7, 9).astype(f32)
    ins["randn_33x70"] = (rng.randn(33, 70) * 0.02).astype(f32)
    # 8200 values: 257 blocks of 32 -> two nested blocks of 256
    ins["randn_41x200"] = (rng.randn(41, 200) * rng.uniform(0.01, 1.0, (41, 1))).astype(f32)
    z = rng.randn(3, 64).astype(f32)
    z[1] = 0.0
    ins["zero_row_3x64"] = z
    ins["zeros_2x33"] = np.zeros((2, 33), dtype=f32)
    eq = np.empty((4, 64), dtype=f32)
    eq[0], eq[1], eq[2], eq[3] = f32(0.3), f32(-0.3), f32(0.7), f32(0.7)
    ins["equal_rows_4x64"] = eq
    ins["all_equal_2x128"] = np.full((2, 128), f32(0.25), dtype=f32)
    # scaled values exactly on, and one ulp around, every NF4 threshold; absmax is exactly 1 so x * (1/1) == x
    mid = [v for t in NF4_THRESH for v in around(t)] + list(NF4_CODE) + [f32(-0.0), f32(0.5), f32(-0.75)]
    ins["nf4_midpoints_1x64"] = np.array(mid[:64], dtype=f32).reshape(1, 64)
    # absmax 2 (a power of two, so x * 0.5 is exact): every signed FP4 threshold and its neighbours
    fp = [f32(2.0)]
    for t in FP4_THRESH:
        for v in around(t):
            fp += [f32(2) * v, f32(-2) * v]
    fp += [f32(-0.0), f32(0.0), f32(-2.0)]
    fp += [f32(0.1)] * (64 - len(fp))
    ins["fp4_midpoints_1x64"] = np.array(fp[:64], dtype=f32).reshape(1, 64)
    # int8: rowmax 127 makes the scale exactly 1, so k + 0.5 values test half-to-even; plus a zero row
    ties = np.array([[127.0, 2.5, 3.5, -2.5, -3.5, 0.5, -0.5, 1.5, 126.5, -126.5, 0.49999997, 64.0],
                     [0.0] * 12,
                     [-1.0, 0.25, 0.125, -0.75, 0.5, 0.3, -0.3, 0.0, 1e-8, -1e-8, 0.9999999, 0.0039370079]],
                    dtype=f32)
    ins["int8_ties_3x12"] = ties
    return ins


CASES = [
    # (input, type, blocksize, double_quant)
    ("randn_7x9", "nf4", 64, False), ("randn_7x9", "nf4", 64, True), ("randn_7x9", "fp4", 64, False),
    ("randn_7x9", "fp4", 64, True), ("randn_7x9", "nf4", 32, True),
    ("randn_33x70", "nf4", 64, False), ("randn_33x70", "nf4", 64, True), ("randn_33x70", "nf4", 128, True),
    ("randn_33x70", "fp4", 64, False), ("randn_33x70", "fp4", 64, True), ("randn_33x70", "fp4", 128, False),
    ("randn_41x200", "nf4", 32, True), ("randn_41x200", "fp4", 32, True),
    ("zero_row_3x64", "nf4", 64, False), ("zero_row_3x64", "nf4", 64, True), ("zero_row_3x64", "fp4", 64, True),
    ("zeros_2x33", "nf4", 64, True), ("zeros_2x33", "fp4", 64, False),
    ("equal_rows_4x64", "nf4", 64, True), ("equal_rows_4x64", "fp4", 64, False),
    ("all_equal_2x128", "nf4", 64, True), ("all_equal_2x128", "fp4", 128, True),
    ("nf4_midpoints_1x64", "nf4", 64, False), ("nf4_midpoints_1x64", "nf4", 64, True),
    ("fp4_midpoints_1x64", "fp4", 64, False), ("fp4_midpoints_1x64", "fp4", 64, True),
]
INT8_CASES = ["randn_33x70", "int8_ties_3x12", "zero_row_3x64"]


def encode_probes():
    """Scalar probes for the three encoders: every threshold/midpoint and one ulp either side, plus specials."""
    special = [f32(np.nan), f32(-0.0), f32(0.0), f32(1.0), f32(-1.0), f32(1.0000001), f32(-1.0000001)]
    nf4_x = np.array([v for t in NF4_THRESH for v in around(t)] + list(NF4_CODE) + special, dtype=f32)
    fp4_x = np.array([v for t in FP4_THRESH for s in (1, -1) for v in around(f32(s) * t)] + list(FP4_CODE) + special,
                     dtype=f32)
    dyn_x = np.array([v for m in DYN_MID for v in around(m)] + list(DYN) + special, dtype=f32)
    return {
        "nf4": {"x": b64(nf4_x), "code": b64(encode_nf4(nf4_x))},
        "fp4": {"x": b64(fp4_x), "code": b64(encode_fp4(fp4_x))},
        "dynamic": {"x": b64(dyn_x), "code": b64(encode_dynamic(dyn_x))},
    }


# ---------------------------------------------------------------- transformers / bitsandbytes serialized layout
def pack_dict_to_tensor(d):
    """bitsandbytes.utils.pack_dict_to_tensor: json.dumps (default separators) as UTF-8 bytes, a uint8 vector."""
    return np.frombuffer(json.dumps(d).encode("utf-8"), dtype=np.uint8)


def layout_model():
    """A tiny LLaMA-style checkpoint: which tensors are quantized (decoder linears) and which are kept."""
    rng = np.random.RandomState(7)

    def bf16_exact(a):  # values a bfloat16 holds exactly (low 16 bits of the fp32 pattern zero)
        return (a.astype(f32).view(np.uint32) & np.uint32(0xFFFF0000)).view(f32)

    return {
        "model.embed_tokens.weight": ("F32", rng.randn(16, 8).astype(f32)),
        "model.layers.0.input_layernorm.weight": ("F32", (1 + 0.1 * rng.randn(8)).astype(f32)),
        "model.layers.0.self_attn.q_proj.weight": ("F32", (0.05 * rng.randn(8, 8)).astype(f32)),
        "model.layers.0.self_attn.q_proj.bias": ("F32", (0.01 * rng.randn(8)).astype(f32)),
        "model.layers.0.mlp.up_proj.weight": ("F32", (0.05 * rng.randn(9, 7)).astype(f32)),
        "model.layers.0.mlp.down_proj.weight": ("BF16", bf16_exact(0.05 * rng.randn(8, 20))),
        "model.norm.weight": ("F32", (1 + 0.1 * rng.randn(8)).astype(f32)),
        "lm_head.weight": ("F32", rng.randn(16, 8).astype(f32)),
    }


TORCH_DTYPE = {"F32": "float32", "BF16": "bfloat16", "F16": "float16"}


def raw(dtype, a):
    if dtype == "BF16":
        return (a.astype(f32).view(np.uint32) >> np.uint32(16)).astype("<u2").tobytes()
    return np.ascontiguousarray(a).tobytes()


def tensor(dtype, shape, data_bytes):
    return {"dtype": dtype, "shape": list(shape), "data": base64.b64encode(data_bytes).decode("ascii")}


def layout_expected(model, qtype, blocksize, dq):
    out = {}
    for name, (dtype, a) in model.items():
        if not (name.startswith("model.layers.") and name.endswith(".weight") and a.ndim == 2):
            out[name] = tensor(dtype, a.shape, raw(dtype, a))
            continue
        if qtype == "int8":
            q = quantize_int8(a)
            out[name] = tensor("I8", a.shape, base64.b64decode(q["q"]))
            prefix = name[: -len("weight")]
            out[prefix + "SCB"] = tensor("F32", [a.shape[0]], base64.b64decode(q["row_scale"]))
            out[prefix + "weight_format"] = tensor("U8", [], bytes([0]))
            continue
        q = quantize_4bit(a, qtype, blocksize, dq)
        packed = base64.b64decode(q["packed"])
        out[name] = tensor("U8", [len(packed), 1], packed)
        table = NF4_CODE if qtype == "nf4" else FP4_CODE
        state = {"quant_type": qtype, "blocksize": blocksize, "dtype": TORCH_DTYPE[dtype], "shape": list(a.shape)}
        if dq:
            codes = base64.b64decode(q["absmax_codes"])
            nested = base64.b64decode(q["nested_absmax"])
            out[name + ".absmax"] = tensor("U8", [len(codes)], codes)
            out[name + ".quant_map"] = tensor("F32", [16], table.tobytes())
            out[name + ".nested_absmax"] = tensor("F32", [len(nested) // 4], nested)
            out[name + ".nested_quant_map"] = tensor("F32", [256], DYN.tobytes())
            offset = float(np.array(q["offset"], dtype=np.uint32).view(f32))
            state.update({"nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": offset})
        else:
            absmax = base64.b64decode(q["absmax"])
            out[name + ".absmax"] = tensor("F32", [len(absmax) // 4], absmax)
            out[name + ".quant_map"] = tensor("F32", [16], table.tobytes())
        qs = pack_dict_to_tensor(state)
        out[name + ".quant_state.bitsandbytes__" + qtype] = tensor("U8", [qs.size], qs.tobytes())
        out[name + "#dequant"] = q["dequant"]  # not a file tensor: what loading must reproduce
    return out


def repr_probes():
    """Python's repr() of assorted doubles (json.dumps writes floats with it), for PythonJson.repr."""
    rng = np.random.RandomState(3)
    vals = [0.0, -0.0, 1.0, -2.5, 0.1, 1e-4, 1e-5, 1.5e-5, 123456.789, 1e15, 1e16, 1.2345e16, 1e-300, 5e-324,
            1.7976931348623157e308, 0.30000000000000004, 2.0 ** -20, 100.0, 1e22]
    vals += [float(f32(x)) for x in rng.randn(40) * 10.0 ** rng.randint(-8, 8, 40)]
    vals += [float(x) for x in rng.randn(20)]
    return [{"bits": int(np.array(v, dtype=np.float64).view(np.uint64)), "repr": repr(v)} for v in vals]


def main():
    t = dynamic_map_torch()
    if t is not None:
        tm, version = t
        same = np.array_equal(tm.view(np.uint32), DYN.view(np.uint32))
        print(f"dynamic map vs torch {version} linspace: {'identical' if same else 'DIFFERENT'}")
        assert same, "numpy emulation of torch.linspace disagrees with torch: fix torch_linspace_f32"
    else:
        print("torch not importable: dynamic map from the numpy emulation of torch.linspace only")
    ins = inputs()
    doc = {
        "source": "pipeline/src/test/python/quant_reference.py (numpy, from bitsandbytes' algorithm)",
        "dynamic_map": b64(DYN),
        "nf4_code": b64(NF4_CODE),
        "fp4_code": b64(FP4_CODE),
        "encode": encode_probes(),
        "inputs": {k: {"rows": v.shape[0], "cols": v.shape[1], "data": b64(v)} for k, v in ins.items()},
        "cases": [],
        "int8": [],
    }
    for name, qtype, bs, dq in CASES:
        case = {"input": name, "type": qtype, "blocksize": bs, "double_quant": dq}
        case.update(quantize_4bit(ins[name], qtype, bs, dq))
        doc["cases"].append(case)
    for name in INT8_CASES:
        case = {"input": name}
        case.update(quantize_int8(ins[name]))
        doc["int8"].append(case)
    model = layout_model()
    doc["layout"] = {
        "model": {k: tensor(d, a.shape, raw(d, a)) for k, (d, a) in model.items()},
        "variants": [
            {"quant": "nf4", "blocksize": 64, "double_quant": True, "tensors": layout_expected(model, "nf4", 64, True)},
            {"quant": "fp4", "blocksize": 128, "double_quant": False,
             "tensors": layout_expected(model, "fp4", 128, False)},
            {"quant": "int8", "blocksize": 0, "double_quant": False,
             "tensors": layout_expected(model, "int8", 0, False)},
        ],
    }
    doc["python_repr"] = repr_probes()
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = os.path.normpath(os.path.join(here, "..", "resources", "fixtures", "quant"))
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "quant_cases.json")
    with open(path, "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(doc['cases'])} 4-bit cases, {len(doc['int8'])} int8)")


if __name__ == "__main__":
    main()
