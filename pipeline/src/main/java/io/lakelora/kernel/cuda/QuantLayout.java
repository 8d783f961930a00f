package io.lakelora.kernel.cuda;

import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;

/**
 * Where the arrays of one frozen {@link QuantizedMatrix} lie in its device copy: byte offsets from its start, each
 * 256-byte aligned, -1 for an array the format does not have. The arrays are bitsandbytes' as they are on the host
 * (no repacking), so the decode kernels read the same bytes {@link QuantizedMatrix#get} reads.
 *
 * <ul>
 *   <li>NF4/FP4: {@code packed} (ceil(rows*cols/2) bytes, first element of a pair in the high nibble), {@code code}
 *       (the 16 fp32 codebook values), then either {@code absmax} (one fp32 per block) or, with double quantization,
 *       {@code absmaxCodes} (one byte per block), {@code nestedAbsmax} (one fp32 per {@code nestedBlocksize} blocks)
 *       and {@code nestedCode} (the 256 fp32 values of the 8-bit map); the offset travels as a kernel argument.
 *   <li>INT8: {@code packed} (rows*cols signed bytes) and {@code rowScale} (one fp32 per row).
 * </ul>
 */
public record QuantLayout(
        QuantType type,
        int rows,
        int cols,
        int blocksize,
        int nestedBlocksize,
        float nestedOffset,
        long packed,
        long code,
        long absmax,
        long absmaxCodes,
        long nestedAbsmax,
        long nestedCode,
        long rowScale,
        long bytes) {

    /** The layout of {@code q}'s device copy. */
    public static QuantLayout of(QuantizedMatrix q) {
        long n = (long) q.rows() * q.cols();
        long at = 0;
        if (q.type() == QuantType.INT8) {
            long packed = at;
            at += DeviceArena.aligned(n);
            long rowScale = at;
            at += DeviceArena.aligned(4L * q.rows());
            return new QuantLayout(q.type(), q.rows(), q.cols(), 0, 0, 0f, packed, -1, -1, -1, -1, -1, rowScale, at);
        }
        if (q.type() != QuantType.NF4 && q.type() != QuantType.FP4) {
            throw new IllegalArgumentException(
                    "no device layout for " + q.type().id() + ": expected nf4, fp4 or int8");
        }
        long blocks = q.blockCount();
        long packed = at;
        at += DeviceArena.aligned((n + 1) / 2);
        long code = at;
        at += DeviceArena.aligned(4L * 16);
        if (!q.doubleQuant()) {
            long absmax = at;
            at += DeviceArena.aligned(4L * blocks);
            return new QuantLayout(
                    q.type(), q.rows(), q.cols(), q.blocksize(), 0, 0f, packed, code, absmax, -1, -1, -1, -1, at);
        }
        long codes = at;
        at += DeviceArena.aligned(blocks);
        long nestedAbsmax = at;
        at += DeviceArena.aligned(4L * q.nestedAbsmaxData().length);
        long nestedCode = at;
        at += DeviceArena.aligned(4L * 256);
        return new QuantLayout(
                q.type(),
                q.rows(),
                q.cols(),
                q.blocksize(),
                q.nestedBlocksize(),
                q.nestedOffset(),
                packed,
                code,
                -1,
                codes,
                nestedAbsmax,
                nestedCode,
                -1,
                at);
    }

    public boolean doubleQuant() {
        return absmaxCodes >= 0;
    }

    public boolean fourBit() {
        return type != QuantType.INT8;
    }
}
