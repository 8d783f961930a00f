package io.lakelora.kernel.cuda;

import static io.lakelora.kernel.cuda.ArgKind.F32;
import static io.lakelora.kernel.cuda.ArgKind.I32;
import static io.lakelora.kernel.cuda.ArgKind.I64;
import static io.lakelora.kernel.cuda.ArgKind.PTR;

import java.util.List;

/**
 * Every entry point of the project's CUDA C kernels ({@code src/main/resources/io/lakelora/kernel/cuda/*.cu}): its
 * source file, its {@code extern "C"} name, its parameters in order and its {@link Geometry}. The launch checks the
 * arguments against this declaration, the fake implements each entry by this name, and {@code CudaKernelSourcesTest}
 * checks that it matches the C declarations in the sources, so the three cannot drift apart. What each computes is
 * documented in its source.
 */
public enum CudaKernel {
    // quant.cu: W(row0 + r, c) into out[r * ldo + c]
    DEQUANT4_F32(
            "quant",
            "lakelora_dequant4_f32",
            Geometry.ELEMENTWISE,
            PTR,
            I32,
            PTR,
            PTR,
            I32,
            PTR,
            PTR,
            PTR,
            PTR,
            I32,
            F32,
            I32,
            I32,
            I32),
    DEQUANT4_BF16(
            "quant",
            "lakelora_dequant4_bf16",
            Geometry.ELEMENTWISE,
            PTR,
            I32,
            PTR,
            PTR,
            I32,
            PTR,
            PTR,
            PTR,
            PTR,
            I32,
            F32,
            I32,
            I32,
            I32),
    DEQUANT8_F32("quant", "lakelora_dequant8_f32", Geometry.ELEMENTWISE, PTR, I32, PTR, PTR, F32, I32, I32, I32),
    DEQUANT8_BF16("quant", "lakelora_dequant8_bf16", Geometry.ELEMENTWISE, PTR, I32, PTR, PTR, F32, I32, I32, I32),
    // rmsnorm.cu
    RMSNORM_FORWARD("rmsnorm", "lakelora_rmsnorm_forward", Geometry.ROWS, PTR, PTR, PTR, PTR, I32, I32, F32),
    RMSNORM_BACKWARD("rmsnorm", "lakelora_rmsnorm_backward", Geometry.ROWS, PTR, PTR, PTR, PTR, PTR, I32, I32),
    // rope.cu
    ROPE("rope", "lakelora_rope", Geometry.ELEMENTWISE, PTR, I32, PTR, PTR, PTR, I32, I32, I32, F32),
    // swiglu.cu
    SWIGLU_FORWARD("swiglu", "lakelora_swiglu_forward", Geometry.ELEMENTWISE, PTR, PTR, PTR, I64),
    SWIGLU_BACKWARD("swiglu", "lakelora_swiglu_backward", Geometry.ELEMENTWISE, PTR, PTR, PTR, PTR, PTR, I64),
    // dropout.cu
    DROPOUT_FORWARD("dropout", "lakelora_dropout_forward", Geometry.ELEMENTWISE, PTR, PTR, I64, F32, I64),
    DROPOUT_BACKWARD("dropout", "lakelora_dropout_backward", Geometry.ELEMENTWISE, PTR, PTR, I64, F32, I64),
    // softmax.cu: grid (Tq, NH, B)
    WINDOW_SOFTMAX("softmax", "lakelora_window_softmax", Geometry.ROWS, PTR, PTR, PTR, I32, I32, I32),
    WINDOW_SOFTMAX_BACKWARD(
            "softmax", "lakelora_window_softmax_backward", Geometry.ROWS, PTR, PTR, PTR, PTR, I32, I32, I32),
    // xent.cu
    CROSS_ENTROPY("xent", "lakelora_cross_entropy", Geometry.ROWS, PTR, I32, PTR, PTR, I32, I32, F32, I32),
    // elementwise.cu
    ADD("elementwise", "lakelora_add", Geometry.ELEMENTWISE, PTR, PTR, I64),
    ADD_BIAS_ROWS("elementwise", "lakelora_add_bias_rows", Geometry.ELEMENTWISE, PTR, I32, PTR, I32, I32),
    F32_TO_BF16("elementwise", "lakelora_f32_to_bf16", Geometry.ELEMENTWISE, PTR, PTR, I64),
    GATHER_ROWS("elementwise", "lakelora_gather_rows", Geometry.ELEMENTWISE, PTR, PTR, I32, PTR, I32, I32),
    SCATTER_ADD_ROWS("elementwise", "lakelora_scatter_add_rows", Geometry.ELEMENTWISE, PTR, I32, PTR, PTR, I32, I32);

    private final String source;
    private final String symbol;
    private final Geometry geometry;
    private final List<ArgKind> params;

    CudaKernel(String source, String symbol, Geometry geometry, ArgKind... params) {
        this.source = source;
        this.symbol = symbol;
        this.geometry = geometry;
        this.params = List.of(params);
    }

    /** The source file's base name ({@code quant} for {@code quant.cu}). */
    public String source() {
        return source;
    }

    /** The {@code extern "C"} function name. */
    public String symbol() {
        return symbol;
    }

    public Geometry geometry() {
        return geometry;
    }

    /** The parameter kinds in declaration order. */
    public List<ArgKind> params() {
        return params;
    }

    /** The entry point named {@code symbol}, or null. */
    public static CudaKernel bySymbol(String symbol) {
        for (CudaKernel k : values()) if (k.symbol.equals(symbol)) return k;
        return null;
    }
}
