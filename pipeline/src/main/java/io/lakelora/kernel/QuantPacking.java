package io.lakelora.kernel;

import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;
import java.util.Arrays;

/**
 * De-quantizes a {@link QuantizedMatrix} straight into the packed B layout of {@link MicroKernel} (the fp32 weight is
 * never materialized), and into single rows for the small-m path.
 *
 * <p>4-bit decoding uses a 512-float pair table: {@code pairs[2*b]} and {@code pairs[2*b+1]} are the code values of
 * the high and low nibble of byte {@code b} (the first element of a pair is the high nibble), so one table load per
 * element and one multiply by the block's absmax. Each value equals {@link QuantizedMatrix#get} bit for bit
 * ({@code code[nibble] * absmax}). Blocks are cut on the flattened row-major index, so they may cross rows.
 */
final class QuantPacking {
    private QuantPacking() {}

    /** Fills {@code out[512]} with the pair table of a 16-entry codebook. */
    static void pairTable(float[] code, float[] out) {
        for (int b = 0; b < 256; b++) {
            out[2 * b] = code[b >>> 4];
            out[2 * b + 1] = code[b & 0x0f];
        }
    }

    /**
     * Packs op(W)[p0 .. p0+kc, j0 .. j0+nc) into {@code bp} as {@link Packing#packB} does for fp32. transB = true:
     * op(W)(p, j) = W(j, p), so k runs along W's columns (one strided decode per W row); transB = false:
     * op(W)(p, j) = W(p, j), k runs along W's rows (one contiguous decode per k step).
     */
    static void packB(
            QuantizedMatrix q,
            boolean transB,
            int j0,
            int nc,
            int p0,
            int kc,
            float[] bp,
            int nr,
            float[] pairs,
            boolean vec) {
        packB(q, transB, j0, nc, p0, kc, bp, nr, pairs, vec, vec ? new float[64] : null, vec ? new int[256] : null);
    }

    /**
     * As above; {@code tmp} (64 floats) and {@code codes} (256 ints) are scratch for the vector forward decoder (may be
     * null without vec).
     */
    static void packB(
            QuantizedMatrix q,
            boolean transB,
            int j0,
            int nc,
            int p0,
            int kc,
            float[] bp,
            int nr,
            float[] pairs,
            boolean vec,
            float[] tmp,
            int[] codes) {
        long cols = q.cols();
        int o = 0;
        for (int js = 0; js < nc; js += nr) {
            int w = Math.min(nr, nc - js);
            if (transB
                    && vec
                    && nr == 32
                    && w == nr
                    && q.type() != QuantType.INT8
                    && cols % q.blocksize() == 0
                    && q.blocksize() % 32 == 0
                    && p0 % 128 == 0
                    && kc % 128 == 0) {
                // 16 W rows at a time over the whole k slice, 128 k steps per call: each row's codes are read as one
                // run, 16 streams from memory rather than 32 interleaved ones by k chunks (the codes of a layer do
                // not fit in L3): forward decoding 15-20% faster in the training step (measured in-step A/B)
                for (int jj = 0; jj < nr; jj += 16) {
                    for (int kk = 0; kk < kc; kk += 128) {
                        VectorDecode512.decodeTransposedWide(
                                q, (j0 + js + jj) * cols + p0 + kk, (int) cols, tmp, codes, bp, o + kk * nr + jj, nr);
                    }
                }
            } else if (transB) {
                // by k chunks, so the part of the strip being written stays in L1 (see Packing.K_CHUNK)
                for (int pk = 0; pk < kc; pk += Packing.K_CHUNK) {
                    int len = Math.min(Packing.K_CHUNK, kc - pk);
                    int j = 0;
                    if (vec
                            && nr == 32
                            && w == nr
                            && q.type() != QuantType.INT8
                            && cols % q.blocksize() == 0
                            && q.blocksize() % 32 == 0
                            && (p0 + pk) % 32 == 0
                            && len % 32 == 0) {
                        // 16 W rows x 128 (else 32) k steps at a time: their codes transposed in registers, then
                        // decoded
                        int kk = 0;
                        if ((p0 + pk) % 128 == 0) {
                            for (; kk + 128 <= len; kk += 128) {
                                for (int jj = 0; jj < nr; jj += 16) {
                                    VectorDecode512.decodeTransposedWide(
                                            q,
                                            (j0 + js + jj) * cols + p0 + pk + kk,
                                            (int) cols,
                                            tmp,
                                            codes,
                                            bp,
                                            o + (pk + kk) * nr + jj,
                                            nr);
                                }
                            }
                        }
                        for (; kk < len; kk += 32) {
                            for (int jj = 0; jj < nr; jj += 16) {
                                VectorDecode512.decodeTransposed(
                                        q,
                                        (j0 + js + jj) * cols + p0 + pk + kk,
                                        (int) cols,
                                        tmp,
                                        codes,
                                        bp,
                                        o + (pk + kk) * nr + jj,
                                        nr);
                            }
                        }
                        j = w;
                    } else if (q.type() != QuantType.INT8
                            && cols % q.blocksize() == 0
                            && (p0 + pk) % q.blocksize() == 0
                            && len % q.blocksize() == 0) {
                        for (; j + 8 <= w; j += 8) {
                            decode8Rows(
                                    q, pairs, (j0 + js + j) * cols + p0 + pk, (int) cols, len, bp, o + pk * nr + j, nr);
                        }
                    }
                    for (; j < w; j++) {
                        decode(q, pairs, (j0 + js + j) * cols + p0 + pk, len, bp, o + pk * nr + j, nr, false);
                    }
                }
                if (w < nr) {
                    for (int p = 0; p < kc; p++) Arrays.fill(bp, o + p * nr + w, o + (p + 1) * nr, 0f);
                }
            } else if (vec
                    && nr == 32
                    && w == nr
                    && q.type() != QuantType.INT8
                    && q.blocksize() % nr == 0
                    && cols % q.blocksize() == 0
                    && (j0 + js) % nr == 0) {
                // the strip's 32 columns lie inside one quantization block of every W row (as below): 16 bytes per
                // k step through the vector codebook permute
                VectorDecode512.decodeStrip(q, (long) p0 * cols + j0 + js, (int) cols, kc, bp, o);
            } else if (!vec
                    && w == nr
                    && q.type() != QuantType.INT8
                    && q.blocksize() % nr == 0
                    && cols % q.blocksize() == 0
                    && (j0 + js) % nr == 0) {
                // the strip's nr columns lie inside one quantization block of every W row: one absmax and nr/2
                // bytes per k step, decoded inline (same values as decode4)
                byte[] packed = q.packedData();
                int bs = q.blocksize();
                int half = nr >>> 1;
                for (int p = 0; p < kc; p++) {
                    long flat = (long) (p0 + p) * cols + j0 + js;
                    float sc = q.blockAbsmax((int) (flat / bs));
                    int bi = (int) (flat >>> 1);
                    int dst = o + p * nr;
                    for (int t = 0; t < half; t++) {
                        int v = (packed[bi + t] & 0xff) << 1;
                        bp[dst + 2 * t] = pairs[v] * sc;
                        bp[dst + 2 * t + 1] = pairs[v + 1] * sc;
                    }
                }
            } else {
                for (int p = 0; p < kc; p++) {
                    int dst = o + p * nr;
                    decode(q, pairs, (p0 + p) * cols + j0 + js, w, bp, dst, 1, vec);
                    if (w < nr) Arrays.fill(bp, dst + w, dst + nr, 0f);
                }
            }
            o += nr * kc;
        }
    }

    /**
     * De-quantizes the {@code len} consecutive elements of W's flattened row-major order starting at {@code flat}
     * into {@code dst[off + i * stride]}. {@code pairs} is the pair table of W's codebook (unused for INT8);
     * {@code vec}: decode contiguous 4-bit runs with {@link VectorDecode512} (512-bit species only).
     */
    static void decode(
            QuantizedMatrix q, float[] pairs, long flat, int len, float[] dst, int off, int stride, boolean vec) {
        if (q.type() == QuantType.INT8) {
            decodeInt8(q, flat, len, dst, off, stride);
        } else {
            decode4(q, pairs, flat, len, dst, off, stride, vec);
        }
    }

    private static void decode4(
            QuantizedMatrix q, float[] pairs, long flat, int len, float[] dst, int off, int stride, boolean vec) {
        byte[] packed = q.packedData();
        int bs = q.blocksize();
        long end = flat + len;
        while (flat < end) {
            int blk = (int) (flat / bs);
            float s = q.blockAbsmax(blk);
            long segEnd = Math.min(end, (long) (blk + 1) * bs);
            if ((flat & 1) != 0) {
                // odd start: the low nibble of its byte (only possible at the very start; blocksize is even)
                dst[off] = pairs[2 * (packed[(int) (flat >>> 1)] & 0xff) + 1] * s;
                off += stride;
                flat++;
            }
            int bi = (int) (flat >>> 1);
            int n2 = (int) ((segEnd - flat) >>> 1);
            if (stride == 1) {
                int t = 0;
                if (vec && n2 >= 16) {
                    int steps = n2 >>> 4;
                    VectorDecode512.decode(packed, bi, steps, q.codeData(), s, dst, off);
                    t = 16 * steps;
                }
                for (; t < n2; t++) {
                    int v = (packed[bi + t] & 0xff) << 1;
                    dst[off + 2 * t] = pairs[v] * s;
                    dst[off + 2 * t + 1] = pairs[v + 1] * s;
                }
                off += 2 * n2;
            } else {
                for (int t = 0; t < n2; t++) {
                    int v = (packed[bi + t] & 0xff) << 1;
                    dst[off] = pairs[v] * s;
                    dst[off + stride] = pairs[v + 1] * s;
                    off += 2 * stride;
                }
            }
            flat += 2L * n2;
            if (flat < segEnd) {
                // odd tail: the high nibble of the next byte
                dst[off] = pairs[2 * (packed[(int) (flat >>> 1)] & 0xff)] * s;
                off += stride;
                flat++;
            }
        }
    }

    /**
     * 4-bit values {@code flat + r*cols + p} ({@code r < 8}, {@code p < len}) into {@code dst[off + p*stride + r]}:
     * eight W rows side by side, so each k step writes 8 contiguous floats. The caller guarantees that {@code flat}
     * and {@code len} are multiples of the blocksize and so is {@code cols} (whole blocks in every row). Each value
     * is {@code pairs[...] * absmax} as in {@link #decode}.
     */
    private static void decode8Rows(
            QuantizedMatrix q, float[] pairs, long flat, int cols, int len, float[] dst, int off, int stride) {
        byte[] packed = q.packedData();
        int bs = q.blocksize();
        int half = bs >>> 1;
        for (int pb = 0; pb < len; pb += bs) {
            long f0 = flat + pb;
            int blk0 = (int) (f0 / bs), bpr = cols / bs;
            float s0 = q.blockAbsmax(blk0), s1 = q.blockAbsmax(blk0 + bpr), s2 = q.blockAbsmax(blk0 + 2 * bpr);
            float s3 = q.blockAbsmax(blk0 + 3 * bpr), s4 = q.blockAbsmax(blk0 + 4 * bpr);
            float s5 = q.blockAbsmax(blk0 + 5 * bpr), s6 = q.blockAbsmax(blk0 + 6 * bpr);
            float s7 = q.blockAbsmax(blk0 + 7 * bpr);
            int b0 = (int) (f0 >>> 1), rb = cols >>> 1;
            int d = off + pb * stride;
            for (int t = 0; t < half; t++, d += 2 * stride) {
                int bi = b0 + t;
                int v0 = (packed[bi] & 0xff) << 1;
                int v1 = (packed[bi + rb] & 0xff) << 1;
                int v2 = (packed[bi + 2 * rb] & 0xff) << 1;
                int v3 = (packed[bi + 3 * rb] & 0xff) << 1;
                int v4 = (packed[bi + 4 * rb] & 0xff) << 1;
                int v5 = (packed[bi + 5 * rb] & 0xff) << 1;
                int v6 = (packed[bi + 6 * rb] & 0xff) << 1;
                int v7 = (packed[bi + 7 * rb] & 0xff) << 1;
                dst[d] = pairs[v0] * s0;
                dst[d + 1] = pairs[v1] * s1;
                dst[d + 2] = pairs[v2] * s2;
                dst[d + 3] = pairs[v3] * s3;
                dst[d + 4] = pairs[v4] * s4;
                dst[d + 5] = pairs[v5] * s5;
                dst[d + 6] = pairs[v6] * s6;
                dst[d + 7] = pairs[v7] * s7;
                int e = d + stride;
                dst[e] = pairs[v0 + 1] * s0;
                dst[e + 1] = pairs[v1 + 1] * s1;
                dst[e + 2] = pairs[v2 + 1] * s2;
                dst[e + 3] = pairs[v3 + 1] * s3;
                dst[e + 4] = pairs[v4 + 1] * s4;
                dst[e + 5] = pairs[v5 + 1] * s5;
                dst[e + 6] = pairs[v6 + 1] * s6;
                dst[e + 7] = pairs[v7 + 1] * s7;
            }
        }
    }

    private static void decodeInt8(QuantizedMatrix q, long flat, int len, float[] dst, int off, int stride) {
        byte[] data = q.packedData();
        float[] rowScale = q.rowScaleData();
        int cols = q.cols();
        long end = flat + len;
        while (flat < end) {
            int row = (int) (flat / cols);
            float s = rowScale[row];
            long segEnd = Math.min(end, (long) (row + 1) * cols);
            int i0 = (int) flat;
            int n = (int) (segEnd - flat);
            for (int t = 0; t < n; t++) {
                dst[off] = (data[i0 + t] * s) * QuantizedMatrix.INT8_DEQUANT_SCALE; // bitsandbytes' order
                off += stride;
            }
            flat = segEnd;
        }
    }
}
