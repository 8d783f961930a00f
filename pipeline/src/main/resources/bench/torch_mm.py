#!/usr/bin/python3
"""PyTorch peer for `lakelora bench-gemm`: times fp32 y = x @ w.t() (x [M, K], w [N, K]) for each shape and thread
count with two PyTorch CPU paths:
  mm      torch.mm(x, w.t()): the BLAS torch is linked to (Debian's torch uses the system libblas.so.3, which is the
          slow reference BLAS unless OpenBLAS/BLIS is installed; "blas_lib" says which file was loaded),
  onednn  torch._C._nn.mkldnn_linear on mkldnn tensors: the oneDNN JIT kernels bundled with torch (what
          torch.utils.mkldnn.to_mkldnn(nn.Linear) runs).
Prints one JSON object on stdout: {"torch": version, "blas_lib": BLAS vendor, version, kernel and path (bench/blas_probe.py), "blas": [...], "results": [{"shape": "MxNxK", "threads": t,
"mm_gflops": g, "onednn_gflops": g, ...}]} (onednn_gflops null where oneDNN is unavailable; with one thread also
mm_cpu_gflops / onednn_cpu_gflops from the thread's CPU time). Timings: median of --reps after --warmup calls. If torch cannot be imported it prints {"error": "..."} and exits 3; on the reference BLAS it measures nothing, prints
{"error": why and the fix, "refused": true} and exits 4.

Usage: /usr/bin/python3 torch_mm.py --shapes 1024x1024x1024,1024x2048x5632 --threads 1,2 --reps 5 --warmup 2
"""
import argparse
import ctypes
import json
import statistics
import sys
import time

import blas_probe  # beside this script (the benchmark commands write both)


def median_s(fn, args):
    """(median wall seconds, median CPU seconds of this thread) after warm-up; the CPU figure is meaningful with
    one thread only (torch then runs the op on the calling thread)."""
    for _ in range(args.warmup):
        fn()
    wall, cpu = [], []
    for _ in range(args.reps):
        c0, t0 = time.thread_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", required=True, help="comma-separated MxNxK")
    ap.add_argument("--threads", required=True, help="comma-separated thread counts")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    args = ap.parse_args()
    try:
        import torch
    except Exception as e:  # ImportError, or a broken install
        print(json.dumps({"error": "cannot import torch with %s: %s" % (sys.executable, e)}))
        return 3
    torch.mm(torch.ones(2, 2), torch.ones(2, 2))  # make sure the BLAS library is loaded before looking for it
    probed = blas_probe.checked()
    if probed is None:
        return 4
    blas, blas_lib = probed
    libs = [b["path"] for b in blas]
    # torch.set_num_threads does not size OpenBLAS's own pthread pool (it stays at all cores): set it too, so that
    # "1 thread" means one core for torch.mm as it does for oneDNN and for us
    openblas = None
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        if hasattr(lib, "openblas_set_num_threads"):
            openblas = lib
            break
    onednn = torch.backends.mkldnn.is_available()
    torch.manual_seed(0)
    results = []
    for t in [int(x) for x in args.threads.split(",")]:
        torch.set_num_threads(t)
        if openblas is not None:
            openblas.openblas_set_num_threads(t)
        for shape in args.shapes.split(","):
            m, n, k = (int(v) for v in shape.lower().split("x"))
            x = torch.rand(m, k, dtype=torch.float32) * 2 - 1
            w = torch.rand(n, k, dtype=torch.float32) * 2 - 1
            y = torch.empty(m, n, dtype=torch.float32)
            flops = 2.0 * m * n * k
            mm_wall, mm_cpu = median_s(lambda: torch.mm(x, w.t(), out=y), args)
            row = {"shape": shape, "threads": t, "mm_gflops": flops / mm_wall / 1e9,
                   "onednn_gflops": None}
            if t == 1:
                row["mm_cpu_gflops"] = flops / mm_cpu / 1e9
            if onednn:
                xm, wm = x.to_mkldnn(), w.to_mkldnn()
                dnn_wall, dnn_cpu = median_s(lambda: torch._C._nn.mkldnn_linear(xm, wm, None), args)
                row["onednn_gflops"] = flops / dnn_wall / 1e9
                if t == 1:
                    row["onednn_cpu_gflops"] = flops / dnn_cpu / 1e9
            results.append(row)
    print(json.dumps({"torch": torch.__version__, "blas_lib": blas_lib, "blas": blas, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
