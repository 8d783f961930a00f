package io.lakelora.quant.io;

import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;

/**
 * A 4-bit weight as a bitsandbytes checkpoint stores it, without its data: the names of its tensors and its parsed,
 * validated quant state (every tensor checked for dtype and element count). A reader that streams weights from disk
 * (into buffers it reuses) finds the tensors by these names and assembles the matrix with {@link #assemble}.
 *
 * @param weight          the packed codes' tensor, e.g. {@code model.layers.0.mlp.up_proj.weight}: U8 [(n+1)/2, 1]
 * @param nestedBlocksize blocks per nested absmax (256) with double quantization, else 0
 * @param nestedOffset    the mean absmax added back with double quantization, else 0
 */
public record StoredFourBit(
        String weight,
        QuantType type,
        int rows,
        int cols,
        int blocksize,
        boolean doubleQuant,
        int nestedBlocksize,
        float nestedOffset) {

    /** Bytes of the packed codes: two per byte. */
    public long packedBytes() {
        return ((long) rows * cols + 1) / 2;
    }

    /** Number of absmax blocks. */
    public int blocks() {
        return Math.toIntExact(((long) rows * cols + blocksize - 1) / blocksize);
    }

    /** Number of nested absmax values (double quantization), else 0. */
    public int nestedBlocks() {
        return doubleQuant ? (blocks() + nestedBlocksize - 1) / nestedBlocksize : 0;
    }

    /** The absmax tensor: U8 codes [blocks] with double quantization, else F32 [blocks]. */
    public String absmax() {
        return weight + BnbLayout.ABSMAX;
    }

    /** The nested absmax tensor, F32 [nestedBlocks] (double quantization only). */
    public String nestedAbsmax() {
        return weight + BnbLayout.NESTED_ABSMAX;
    }

    /** The nested code map, F32 [256] (double quantization only). */
    public String nestedQuantMap() {
        return weight + BnbLayout.NESTED_QUANT_MAP;
    }

    /**
     * The matrix over the given arrays (not copied): {@code absmaxCodes} with double quantization (and
     * {@code absmax} null), else {@code absmax} (and the nested arrays null).
     */
    public QuantizedMatrix assemble(
            byte[] packed, byte[] absmaxCodes, float[] absmax, float[] nestedAbsmax, float[] nestedCode) {
        return doubleQuant
                ? QuantizedMatrix.fourBitDoubleQuant(
                        type,
                        rows,
                        cols,
                        blocksize,
                        packed,
                        absmaxCodes,
                        nestedAbsmax,
                        nestedCode,
                        nestedBlocksize,
                        nestedOffset)
                : QuantizedMatrix.fourBit(type, rows, cols, blocksize, packed, absmax);
    }
}
