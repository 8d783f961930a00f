#!/usr/bin/python3
"""Which BLAS a benchmark peer really runs on, as threadpoolctl finds it: the BLAS libraries mapped into this process
(/proc/self/maps), each opened with ctypes and asked for its vendor's own version and kernel functions:
  OpenBLAS  openblas_get_config() / openblas_get_corename()  (e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ...", "Zen")
  BLIS      bli_info_get_version_str()
  MKL       MKL_Get_Version_String()
and "reference" for a libblas.so that answers none of them: Netlib's reference BLAS (Debian's libblas3), which runs an
fp32 GEMM tens of times slower than a tuned BLAS; a benchmark peer on it measures nothing worth comparing.

As a module: probe() -> [{"path", "vendor", "version", "kernel"}]; refusal(probe()) -> why a peer on these
libraries must not be compared (with the fix), or None. As a command (for tests and for a look at a machine):
blas_probe.py [--load PATH ...] [--check] loads the given libraries first, then prints {"blas": probe(), "refused":
refusal or null} as JSON; with --check it exits 4 when refused.
"""
import ctypes
import json
import sys

BLAS_NAMES = ("libblas", "libopenblas", "libcblas", "libblis", "libmkl_rt", "libmkl_core", "libflexiblas")
FIX = ("apt-get install libopenblas0-pthread (Debian's python3-torch then loads OpenBLAS through libblas.so.3; "
       "check with: update-alternatives --display libblas.so.3-x86_64-linux-gnu)")


def mapped_blas():
    """Paths of the BLAS libraries mapped into this process, in first-mapped order."""
    out = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 6:
                continue
            path = parts[5]
            name = path.rsplit("/", 1)[-1]
            if name.startswith(BLAS_NAMES) and ".so" in name and path not in out:
                out.append(path)
    return out


def _text(fn):
    fn.restype = ctypes.c_char_p
    v = fn()
    return v.decode("utf-8", "replace").strip() if v else None


def describe(path):
    """Vendor, version and kernel of one BLAS library."""
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        return {"path": path, "vendor": "unloadable", "version": str(e), "kernel": None}
    if hasattr(lib, "openblas_get_config"):
        kernel = _text(lib.openblas_get_corename) if hasattr(lib, "openblas_get_corename") else None
        return {"path": path, "vendor": "openblas", "version": _text(lib.openblas_get_config), "kernel": kernel}
    if hasattr(lib, "bli_info_get_version_str"):
        return {"path": path, "vendor": "blis", "version": _text(lib.bli_info_get_version_str), "kernel": None}
    if hasattr(lib, "MKL_Get_Version_String"):
        buf = ctypes.create_string_buffer(256)
        lib.MKL_Get_Version_String(buf, 256)
        return {"path": path, "vendor": "mkl", "version": buf.value.decode("utf-8", "replace").strip(),
                "kernel": None}
    if hasattr(lib, "sgemm_"):
        return {"path": path, "vendor": "reference", "version": None, "kernel": None}
    return {"path": path, "vendor": "unknown", "version": None, "kernel": None}


def probe():
    """Every mapped BLAS library, described."""
    return [describe(p) for p in mapped_blas()]


def refusal(libs):
    """Why a peer on these libraries would mislead (the reference BLAS and no tuned one), with the fix; else None. No
    shared BLAS mapped is accepted: a pip wheel of torch carries its own (MKL/oneDNN) inside libtorch."""
    tuned = [l for l in libs if l["vendor"] in ("openblas", "blis", "mkl")]
    ref = [l for l in libs if l["vendor"] == "reference"]
    if ref and not tuned:
        return ("the PyTorch peer would run on the reference BLAS (%s), whose fp32 GEMM is tens of times slower than "
                "a tuned BLAS: no comparison is made. Fix: %s" % (ref[0]["path"], FIX))
    return None


AVX512_KERNELS = ("SkylakeX", "Cooperlake", "SapphireRapids")


def cpu_has_avx512():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return " avx512f" in line
    except OSError:
        pass
    return False


def kernel_note(libs):
    """A warning when OpenBLAS runs a narrower kernel than the CPU has (an OpenBLAS older than the CPU falls back to
    Haswell's AVX2 kernel on AVX-512 parts such as AMD Zen 5), with the setting that selects the AVX-512 one."""
    for l in libs:
        if l["vendor"] == "openblas" and l["kernel"] and cpu_has_avx512() and l["kernel"] not in AVX512_KERNELS:
            return ("OpenBLAS runs its %s kernel on this AVX-512 CPU (an OpenBLAS older than the CPU); "
                    "OPENBLAS_CORETYPE=SkylakeX selects its AVX-512 kernel" % l["kernel"])
    return None


def checked():
    """What a peer script calls once torch has loaded its BLAS: (libraries, one-line description), or None after
    printing the refusal as the script's JSON result (the script then exits 4)."""
    libs = probe()
    why = refusal(libs)
    if why:
        print(json.dumps({"error": why, "refused": True, "blas": libs}))
        return None
    return libs, describe_all(libs)


def describe_all(libs):
    """One line for a report: vendor, version and kernel of the tuned BLAS (or what was found)."""
    if not libs:
        return "no shared BLAS library mapped (torch's bundled BLAS)"
    l = next((x for x in libs if x["vendor"] in ("openblas", "blis", "mkl")), libs[0])
    out = "%s %s" % (l["vendor"], l["version"] or "")
    if l["kernel"]:
        out += ", kernel %s" % l["kernel"]
    out = out.strip() + " (%s)" % l["path"]
    note = kernel_note(libs)
    return out + "; note: " + note if note else out


def main(argv):
    keep = []
    check = False
    i = 0
    while i < len(argv):
        if argv[i] == "--load" and i + 1 < len(argv):
            keep.append(ctypes.CDLL(argv[i + 1]))
            i += 2
        elif argv[i] == "--check":
            check = True
            i += 1
        else:
            print(json.dumps({"error": "usage: blas_probe.py [--load PATH ...] [--check]"}))
            return 2
    libs = probe()
    why = refusal(libs)
    print(json.dumps({"blas": libs, "blas_description": describe_all(libs), "refused": why}))
    return 4 if check and why else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
