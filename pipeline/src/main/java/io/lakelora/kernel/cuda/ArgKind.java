package io.lakelora.kernel.cuda;

/**
 * The C type of a kernel parameter as the launch passes it: a device pointer (8 bytes), {@code int}, {@code long long}
 * or {@code float}. {@link CudaKernel} declares each kernel's parameters with these, and {@link KernelArgs} carries
 * the values.
 */
public enum ArgKind {
    /** Any {@code T*}: a device address. */
    PTR(8),
    /** {@code int}. */
    I32(4),
    /** {@code long long} (also the 64-bit seeds, passed as their bits). */
    I64(8),
    /** {@code float}. */
    F32(4);

    private final int bytes;

    ArgKind(int bytes) {
        this.bytes = bytes;
    }

    /** Size of the value in the kernel's parameter buffer. */
    public int bytes() {
        return bytes;
    }

    /**
     * The kind of a C parameter declaration's type, e.g. {@code const float*}, {@code int}, {@code long long}.
     *
     * @throws IllegalArgumentException for a type the launch cannot pass
     */
    public static ArgKind ofCType(String type) {
        String t = type.replace("const", " ").replaceAll("\\s+", " ").trim();
        if (t.endsWith("*")) return PTR;
        return switch (t) {
            case "int" -> I32;
            case "long long" -> I64;
            case "float" -> F32;
            default ->
                throw new IllegalArgumentException("kernel parameter type '" + type
                        + "': expected a pointer, int, long long or float (the kinds a launch passes)");
        };
    }
}
