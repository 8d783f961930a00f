package io.lakelora.safetensors;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The safetensors element types this project reads and writes, with their size in bytes and their header name. */
public enum DType {
    F32(4),
    F16(2),
    BF16(2),
    I8(1),
    U8(1),
    I32(4),
    I64(8);

    private final int size;

    DType(int size) {
        this.size = size;
    }

    /** Bytes per element. */
    public int size() {
        return size;
    }

    /** True for the floating-point types that {@link SafetensorsFile#readFloats} converts. */
    public boolean isFloat() {
        return this == F32 || this == F16 || this == BF16;
    }

    /** The dtype named {@code name} in a safetensors header ("F32", "BF16", ...). */
    public static DType parse(String name) {
        for (DType d : values()) if (d.name().equals(name)) return d;
        throw new UnsupportedOperationException("safetensors dtype '" + name + "' is not supported; supported: "
                + supportedList() + ". Fix: convert the checkpoint to one of these (e.g. torch .to(torch.float32))");
    }

    /** "F32, F16, BF16, I8, U8, I32, I64". */
    public static String supportedList() {
        return Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "));
    }
}
