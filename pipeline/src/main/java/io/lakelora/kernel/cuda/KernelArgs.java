package io.lakelora.kernel.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * The argument values of one kernel launch, in order, each with its {@link ArgKind}; 32-bit values are kept in the
 * low bits of a {@code long}. Built with the fluent adders and checked against the kernel's declaration
 * ({@link #check}) before any launch.
 */
public final class KernelArgs {
    private final List<ArgKind> kinds = new ArrayList<>();
    private final List<Long> bits = new ArrayList<>();

    /** An empty list. */
    public static KernelArgs of() {
        return new KernelArgs();
    }

    /** A device address (0 for a null pointer). */
    public KernelArgs ptr(long address) {
        return add(ArgKind.PTR, address);
    }

    public KernelArgs i32(int v) {
        return add(ArgKind.I32, v & 0xffffffffL);
    }

    public KernelArgs i64(long v) {
        return add(ArgKind.I64, v);
    }

    public KernelArgs f32(float v) {
        return add(ArgKind.F32, Float.floatToRawIntBits(v) & 0xffffffffL);
    }

    private KernelArgs add(ArgKind k, long v) {
        kinds.add(k);
        bits.add(v);
        return this;
    }

    public int size() {
        return kinds.size();
    }

    public ArgKind kind(int i) {
        return kinds.get(i);
    }

    /** The raw bits of argument i (a 32-bit value in the low half). */
    public long bits(int i) {
        return bits.get(i);
    }

    public long ptrAt(int i) {
        expect(i, ArgKind.PTR);
        return bits.get(i);
    }

    public int i32At(int i) {
        expect(i, ArgKind.I32);
        return (int) (long) bits.get(i);
    }

    public long i64At(int i) {
        expect(i, ArgKind.I64);
        return bits.get(i);
    }

    public float f32At(int i) {
        expect(i, ArgKind.F32);
        return Float.intBitsToFloat((int) (long) bits.get(i));
    }

    private void expect(int i, ArgKind k) {
        if (kinds.get(i) != k) throw new IllegalStateException("argument " + i + " is " + kinds.get(i) + ", not " + k);
    }

    /** Throws unless these arguments match {@code kernel}'s parameters in number and kind. */
    public void check(CudaKernel kernel) {
        if (!kinds.equals(kernel.params())) {
            throw new IllegalArgumentException(
                    "launch of " + kernel.symbol() + ": arguments " + kinds + ", but it declares " + kernel.params());
        }
    }

    @Override
    public String toString() {
        return kinds.toString();
    }
}
