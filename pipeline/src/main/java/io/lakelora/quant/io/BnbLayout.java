package io.lakelora.quant.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.error.BadInputException;
import io.lakelora.quant.DynamicMap;
import io.lakelora.quant.PythonJson;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;
import io.lakelora.quant.Quantizer;
import io.lakelora.safetensors.DType;
import io.lakelora.safetensors.ShardedCheckpoint;
import io.lakelora.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tensor names, shapes and the packed quant state of quantized linear weights as transformers saves a bitsandbytes
 * model ({@code Linear4bit._save_to_state_dict} with {@code QuantState.as_dict(packed=True)};
 * {@code Linear8bitLt._save_to_state_dict}), and the reverse.
 *
 * <p>4-bit, for a weight {@code W = <module>.weight} of shape [rows, cols], n = rows * cols, b = blocks:
 * {@code W} U8 [(n+1)/2, 1] (packed codes); {@code W.absmax} U8 [b] with double quantization, else F32 [b];
 * {@code W.quant_map} F32 [16]; with double quantization {@code W.nested_absmax} F32 [ceil(b/256)] and
 * {@code W.nested_quant_map} F32 [256]; {@code W.quant_state.bitsandbytes__nf4} (or {@code __fp4}) U8: the UTF-8 of
 * {@code json.dumps({"quant_type", "blocksize", "dtype", "shape"[, "nested_blocksize", "nested_dtype",
 * "nested_offset"]})}.
 *
 * <p>8-bit: {@code W} I8 [rows, cols], {@code <module>.SCB} F32 [rows] (row absmax), {@code <module>.weight_format}
 * U8 scalar 0 (row-major).
 */
final class BnbLayout {
    private BnbLayout() {}

    static final String QUANT_STATE = ".quant_state.bitsandbytes__";
    static final String ABSMAX = ".absmax";
    static final String QUANT_MAP = ".quant_map";
    static final String NESTED_ABSMAX = ".nested_absmax";
    static final String NESTED_QUANT_MAP = ".nested_quant_map";
    static final String SCB = "SCB";
    static final String WEIGHT_FORMAT = "weight_format";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One tensor of the layout. */
    record Entry(String name, DType dtype, long[] shape) {}

    /** PyTorch's name of a float dtype ({@code str(torch.float32).strip("torch.")}), as the quant state records it. */
    static String torchDtype(DType d) {
        return switch (d) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> throw new IllegalArgumentException("not a float dtype: " + d);
        };
    }

    static String quantStateKey(String weight, QuantType type) {
        return weight + QUANT_STATE + type.id();
    }

    /** The module prefix of an 8-bit weight, e.g. "model.layers.0.mlp.up_proj." for "...up_proj.weight". */
    static String modulePrefix(String weight) {
        return weight.substring(0, weight.length() - "weight".length());
    }

    /** {@code json.dumps} of the non-tensor quant-state items, byte for byte as bitsandbytes writes them. */
    static String quantStateJson(
            QuantType type, int blocksize, String dtype, int rows, int cols, boolean nested, float offset) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("quant_type", type.id());
        m.put("blocksize", blocksize);
        m.put("dtype", dtype);
        m.put("shape", List.of(rows, cols));
        if (nested) {
            m.put("nested_blocksize", Quantizer.NESTED_BLOCKSIZE);
            m.put("nested_dtype", "float32");
            m.put("nested_offset", (double) offset);
        }
        return PythonJson.dumps(m);
    }

    /** The tensors of a 4-bit weight, in bitsandbytes' order. */
    static List<Entry> fourBitEntries(
            String weight, QuantType type, int rows, int cols, int blocksize, boolean nested, int quantStateBytes) {
        long n = (long) rows * cols;
        long blocks = (n + blocksize - 1) / blocksize;
        List<Entry> out = new ArrayList<>();
        out.add(new Entry(weight, DType.U8, new long[] {(n + 1) / 2, 1}));
        out.add(new Entry(weight + ABSMAX, nested ? DType.U8 : DType.F32, new long[] {blocks}));
        out.add(new Entry(weight + QUANT_MAP, DType.F32, new long[] {16}));
        if (nested) {
            long nb = (blocks + Quantizer.NESTED_BLOCKSIZE - 1) / Quantizer.NESTED_BLOCKSIZE;
            out.add(new Entry(weight + NESTED_ABSMAX, DType.F32, new long[] {nb}));
            out.add(new Entry(weight + NESTED_QUANT_MAP, DType.F32, new long[] {DynamicMap.SIZE}));
        }
        out.add(new Entry(quantStateKey(weight, type), DType.U8, new long[] {quantStateBytes}));
        return out;
    }

    /** The tensors of an 8-bit weight. */
    static List<Entry> int8Entries(String weight, int rows, int cols) {
        String prefix = modulePrefix(weight);
        return List.of(
                new Entry(weight, DType.I8, new long[] {rows, cols}),
                new Entry(prefix + SCB, DType.F32, new long[] {rows}),
                new Entry(prefix + WEIGHT_FORMAT, DType.U8, new long[0]));
    }

    /** The 4-bit type whose quant state {@code weight} has in {@code ck}, or null when it has none. */
    static QuantType fourBitTypeOf(ShardedCheckpoint ck, String weight) {
        for (QuantType t : new QuantType[] {QuantType.NF4, QuantType.FP4}) {
            if (ck.contains(quantStateKey(weight, t))) return t;
        }
        return null;
    }

    /** Loads the 4-bit weight {@code weight} of type {@code type}. */
    static QuantizedMatrix readFourBit(ShardedCheckpoint ck, String weight, QuantType type) {
        StoredFourBit d = describeFourBit(ck, weight, type);
        byte[] packed = ck.readBytes(d.weight());
        if (!d.doubleQuant()) return d.assemble(packed, null, ck.readFloats(d.absmax()), null, null);
        return d.assemble(
                packed,
                ck.readBytes(d.absmax()),
                null,
                ck.readFloats(d.nestedAbsmax()),
                ck.readFloats(d.nestedQuantMap()));
    }

    /**
     * Parses the quant state of the 4-bit weight {@code weight} of type {@code type} and checks every tensor it needs
     * (dtype, element count, bitsandbytes' code map) without reading the large ones.
     */
    static StoredFourBit describeFourBit(ShardedCheckpoint ck, String weight, QuantType type) {
        String stateKey = quantStateKey(weight, type);
        String where = "checkpoint " + ck.source();
        JsonNode state;
        try {
            state = JSON.readTree(new String(ck.readBytes(stateKey), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new BadInputException(
                    where + ": tensor '" + stateKey + "' is not the UTF-8 JSON bitsandbytes packs (" + e.getMessage()
                            + "). Fix: re-save the model with bitsandbytes/transformers",
                    e);
        }
        if (state == null || !state.isObject()) {
            throw new BadInputException(where + ": tensor '" + stateKey + "' holds no JSON object");
        }
        String qt = text(state, "quant_type", stateKey, where);
        if (!qt.equals(type.id())) {
            throw new BadInputException(where + ": '" + stateKey + "' says quant_type '" + qt + "', expected '"
                    + type.id() + "' (the key's suffix). Fix: the quant state is corrupt; re-save the model");
        }
        int blocksize = integer(state, "blocksize", stateKey, where);
        JsonNode shape = state.get("shape");
        if (shape == null
                || !shape.isArray()
                || shape.size() != 2
                || !shape.get(0).canConvertToInt()
                || !shape.get(1).canConvertToInt()) {
            throw new BadInputException(
                    where + ": '" + stateKey + "' has shape " + shape + ", expected [rows, cols] of a linear weight");
        }
        int rows = shape.get(0).intValue();
        int cols = shape.get(1).intValue();
        long n = (long) rows * cols;
        long blocks = (n + blocksize - 1) / blocksize;
        check(ck, weight, DType.U8, (n + 1) / 2, where);
        check(ck, weight + QUANT_MAP, DType.F32, 16, where);
        float[] map = ck.readFloats(weight + QUANT_MAP);
        float[] expected = type.codebook();
        for (int i = 0; i < 16; i++) {
            if (Float.floatToIntBits(map[i]) != Float.floatToIntBits(expected[i])) {
                throw new UnsupportedOperationException(where + ": '" + weight + QUANT_MAP + "' entry " + i + " is "
                        + map[i] + ", bitsandbytes' " + type.id() + " value is " + expected[i]
                        + "; custom 4-bit code maps are not supported");
            }
        }
        boolean nested = state.has("nested_offset") || ck.contains(weight + NESTED_ABSMAX);
        if (!nested) {
            check(ck, weight + ABSMAX, DType.F32, blocks, where);
            return new StoredFourBit(weight, type, rows, cols, blocksize, false, 0, 0f);
        }
        int nestedBlocksize = integer(state, "nested_blocksize", stateKey, where);
        String nestedDtype = text(state, "nested_dtype", stateKey, where);
        if (!nestedDtype.equals("float32")) {
            throw new UnsupportedOperationException(where + ": '" + stateKey + "' has nested_dtype '" + nestedDtype
                    + "'; only float32 nested absmax is supported");
        }
        JsonNode off = state.get("nested_offset");
        if (off == null || !off.isNumber()) {
            throw new BadInputException(where + ": '" + stateKey + "' has no numeric nested_offset");
        }
        check(ck, weight + ABSMAX, DType.U8, blocks, where);
        check(ck, weight + NESTED_ABSMAX, DType.F32, (blocks + nestedBlocksize - 1) / nestedBlocksize, where);
        check(ck, weight + NESTED_QUANT_MAP, DType.F32, DynamicMap.SIZE, where);
        return new StoredFourBit(weight, type, rows, cols, blocksize, true, nestedBlocksize, (float) off.doubleValue());
    }

    /** Loads the 8-bit weight {@code weight} (with its {@code SCB}). */
    static QuantizedMatrix readInt8(ShardedCheckpoint ck, String weight) {
        String where = "checkpoint " + ck.source();
        TensorInfo w = ck.info(weight);
        if (w.dtype() != DType.I8 || w.rank() != 2) {
            throw new BadInputException(where + ": 8-bit weight '" + weight + "' is " + w.dtype() + " "
                    + Arrays.toString(w.shape()) + ", expected I8 [rows, cols]");
        }
        int rows = Math.toIntExact(w.dim(0));
        int cols = Math.toIntExact(w.dim(1));
        byte[] q = ck.readBytes(weight);
        float[] scb = floatsOf(ck, modulePrefix(weight) + SCB, rows, where);
        return QuantizedMatrix.int8(rows, cols, q, scb);
    }

    /** Checks that tensor {@code name} exists with {@code dtype} and {@code numel} elements. */
    private static void check(ShardedCheckpoint ck, String name, DType dtype, long numel, String where) {
        TensorInfo t = require(ck, name, where);
        if (t.dtype() != dtype || t.numel() != numel) {
            throw new BadInputException(where + ": tensor '" + name + "' is " + t.dtype() + " "
                    + Arrays.toString(t.shape()) + ", expected " + dtype + " with " + numel + " elements. Fix: the "
                    + "quantized weights and their quant state do not match; re-save the model");
        }
    }

    private static float[] floatsOf(ShardedCheckpoint ck, String name, long numel, String where) {
        TensorInfo t = require(ck, name, where);
        if (t.dtype() != DType.F32 || t.numel() != numel) {
            throw new BadInputException(where + ": tensor '" + name + "' is " + t.dtype() + " "
                    + Arrays.toString(t.shape()) + ", expected F32 with " + numel + " elements. Fix: the quantized "
                    + "weights and their quant state do not match; re-save the model");
        }
        return ck.readFloats(name);
    }

    private static TensorInfo require(ShardedCheckpoint ck, String name, String where) {
        if (!ck.contains(name)) {
            throw new BadInputException(where + ": tensor '" + name + "' is missing. Fix: the checkpoint is "
                    + "incomplete; copy every shard of the quantized model");
        }
        return ck.info(name);
    }

    private static String text(JsonNode state, String key, String stateKey, String where) {
        JsonNode v = state.get(key);
        if (v == null || !v.isTextual()) {
            throw new BadInputException(where + ": quant state '" + stateKey + "' has no string '" + key + "'");
        }
        return v.asText();
    }

    private static int integer(JsonNode state, String key, String stateKey, String where) {
        JsonNode v = state.get(key);
        if (v == null || !v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new BadInputException(where + ": quant state '" + stateKey + "' has no integer '" + key + "'");
        }
        return v.intValue();
    }
}
