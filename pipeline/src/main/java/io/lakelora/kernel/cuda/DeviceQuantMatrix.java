package io.lakelora.kernel.cuda;

import io.lakelora.quant.QuantizedMatrix;

/**
 * A frozen quantized weight on the device: its arrays at {@code address} as {@link QuantLayout} places them. Uploaded
 * once (per executor JVM and device) and never written again.
 */
public record DeviceQuantMatrix(long address, QuantLayout layout) {

    /** Copies {@code q}'s arrays into a piece of {@code arena}. */
    public static DeviceQuantMatrix upload(CudaApi api, DeviceArena arena, QuantizedMatrix q) {
        QuantLayout l = QuantLayout.of(q);
        long at = arena.take(l.bytes());
        byte[] packed = q.packedData();
        api.copyToDevice(at + l.packed(), packed, 0, packed.length);
        if (l.fourBit()) {
            api.copyToDevice(at + l.code(), q.codeData(), 0, 16);
            if (l.doubleQuant()) {
                api.copyToDevice(at + l.absmaxCodes(), q.absmaxCodeData(), 0, q.absmaxCodeData().length);
                api.copyToDevice(at + l.nestedAbsmax(), q.nestedAbsmaxData(), 0, q.nestedAbsmaxData().length);
                api.copyToDevice(at + l.nestedCode(), q.nestedCodeData(), 0, 256);
            } else {
                api.copyToDevice(at + l.absmax(), q.absmaxData(), 0, q.absmaxData().length);
            }
        } else {
            api.copyToDevice(at + l.rowScale(), q.rowScaleData(), 0, q.rows());
        }
        return new DeviceQuantMatrix(at, l);
    }

    /** The device address of the array at layout offset {@code off}, or 0 (null) when absent. */
    public long ptr(long off) {
        return off < 0 ? 0 : address + off;
    }

    public int rows() {
        return layout.rows();
    }

    public int cols() {
        return layout.cols();
    }
}
