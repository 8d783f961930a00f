package io.lakelora.quant.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.error.BadInputException;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.QuantizedMatrix;
import io.lakelora.quant.Quantizer;
import io.lakelora.safetensors.AbstractTensorWriter;
import io.lakelora.safetensors.DType;
import io.lakelora.safetensors.ShardedCheckpoint;
import io.lakelora.safetensors.ShardedCheckpointWriter;
import io.lakelora.safetensors.TensorInfo;
import io.lakelora.safetensors.TensorSink;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A Hugging Face model directory whose decoder linear weights are stored quantized, in the layout transformers and
 * bitsandbytes save and load ({@code from_pretrained} of a pre-quantized checkpoint): see {@link BnbLayout} for the
 * tensors, plus a {@code quantization_config} in config.json.
 *
 * <p>{@link #save} quantizes a model layer by layer: it reads one linear weight, quantizes it, streams its tensors
 * into the output file and drops it before the next, so it never holds more than one fp32 weight matrix. Which
 * tensors are quantized: rank-2 {@code .weight} tensors under {@code model.layers.} (attention and MLP projections),
 * as transformers' {@code load_in_4bit} replaces every {@code nn.Linear} of the decoder; embeddings, norms, biases and
 * {@code lm_head} are copied byte for byte in their own dtype. The other files of the directory (tokenizer,
 * generation config, ...) are copied; config.json gets the {@code quantization_config}.
 *
 * <p>{@link #open} reads such a directory back into {@link QuantizedMatrix} objects, one linear at a time.
 */
public final class QuantizedCheckpoint implements AutoCloseable {
    /** transformers' default shard size ("5GB"). */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

    static final String CONFIG = "config.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path dir;
    private final ObjectNode config;
    private final ShardedCheckpoint tensors;
    private final Map<String, QuantType> quantized; // weight name -> type (in file order)

    private QuantizedCheckpoint(
            Path dir, ObjectNode config, ShardedCheckpoint tensors, Map<String, QuantType> quantized) {
        this.dir = dir;
        this.config = config;
        this.tensors = tensors;
        this.quantized = quantized;
    }

    /** What {@link #save} wrote. Sizes in bytes; "linear" counts the quantized weights only. */
    public record Summary(
            QuantType type,
            int blocksize,
            boolean doubleQuant,
            int linearTensors,
            int keptTensors,
            long linearParams,
            long keptParams,
            long linearStorageBits,
            long linearResidentBytes,
            long keptBytes,
            long sourceBytes,
            long outputBytes,
            List<Path> files) {
        /** Storage bits per quantized parameter (codes + scales, codebooks excluded). */
        public double bitsPerParam() {
            return linearParams == 0 ? 0 : (double) linearStorageBits / linearParams;
        }

        /** Memory to hold the model for training: quantized linears plus the kept tensors in fp32. */
        public long residentBytes() {
            return linearResidentBytes + 4 * keptParams;
        }
    }

    /**
     * True for the tensors {@link #save} quantizes: rank-2 {@code .weight} tensors under {@code model.layers.} (or a
     * Gemma 3 multimodal checkpoint's {@code language_model.model.layers.} / {@code model.language_model.layers.}).
     */
    public static boolean isQuantizedLinear(String name, long[] shape) {
        return (name.startsWith("model.layers.")
                        || name.startsWith("language_model.model.layers.")
                        || name.startsWith("model.language_model.layers."))
                && name.endsWith(".weight")
                && shape.length == 2;
    }

    /** {@link #save(Path, Path, Quantizer, long)} with transformers' default shard size. */
    public static Summary save(Path modelDir, Path outDir, Quantizer quantizer) {
        return save(modelDir, outDir, quantizer, DEFAULT_MAX_SHARD_BYTES);
    }

    /**
     * Quantizes the model in {@code modelDir} (config.json + model.safetensors or a sharded index) into
     * {@code outDir} (created if needed; must not be {@code modelDir}).
     */
    public static Summary save(Path modelDir, Path outDir, Quantizer quantizer, long maxShardBytes) {
        Path src = modelDir.toAbsolutePath().normalize();
        Path out = outDir.toAbsolutePath().normalize();
        if (src.equals(out)) {
            throw new IllegalArgumentException("output directory " + out + " is the model directory; choose another "
                    + "(quantizing in place would overwrite the source weights)");
        }
        ObjectNode config = readConfig(src);
        if (config.has("quantization_config")) {
            JsonNode qc = config.get("quantization_config");
            throw new BadInputException(
                    "model " + src + " is already quantized (config.json has a quantization_config, "
                            + "quant_method '" + qc.path("quant_method").asText("?") + "'). Fix: quantize the original "
                            + "16/32-bit model");
        }
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new UncheckedIOException("creating " + out, e);
        }
        try (ShardedCheckpoint ck = ShardedCheckpoint.open(src)) {
            CheckpointQuantizer job = new CheckpointQuantizer(ck, quantizer);
            ShardedCheckpointWriter writer = new ShardedCheckpointWriter(out, "model", maxShardBytes);
            writer.metadata("format", "pt");
            job.declare(writer);
            List<Path> files = writer.write();
            writeConfig(out, config, quantizer);
            copyOtherFiles(src, out);
            long outBytes = 0;
            for (Path f : files) outBytes += size(f);
            return new Summary(
                    quantizer.type(),
                    quantizer.blocksize(),
                    quantizer.doubleQuant(),
                    job.linearTensors,
                    job.keptTensors,
                    job.linearParams,
                    job.keptParams,
                    job.storageBits,
                    job.residentBytes,
                    job.keptBytes,
                    job.sourceBytes,
                    outBytes,
                    List.copyOf(files));
        }
    }

    /** Opens a quantized model directory written by {@link #save} or by transformers/bitsandbytes. */
    public static QuantizedCheckpoint open(Path dir) {
        Path d = dir.toAbsolutePath().normalize();
        ObjectNode config = readConfig(d);
        JsonNode qc = config.get("quantization_config");
        if (qc == null || !"bitsandbytes".equals(qc.path("quant_method").asText())) {
            throw new BadInputException("model " + d + ": config.json has no bitsandbytes quantization_config (" + qc
                    + "). Fix: quantize it first with 'lakelora quantize --model DIR --out DIR'");
        }
        ShardedCheckpoint ck = ShardedCheckpoint.open(d);
        try {
            Map<String, QuantType> q = new java.util.LinkedHashMap<>();
            for (Map.Entry<String, TensorInfo> e : ck.tensors().entrySet()) {
                String name = e.getKey();
                if (!name.endsWith(".weight")) continue;
                QuantType t = BnbLayout.fourBitTypeOf(ck, name);
                if (t == null && ck.contains(BnbLayout.modulePrefix(name) + BnbLayout.SCB)) t = QuantType.INT8;
                if (t != null) q.put(name, t);
            }
            if (q.isEmpty()) {
                throw new BadInputException("model " + d + ": config.json declares bitsandbytes quantization but no "
                        + "tensor has a quant state (" + BnbLayout.QUANT_STATE + "* or SCB). Fix: re-save the model");
            }
            return new QuantizedCheckpoint(d, config, ck, Collections.unmodifiableMap(q));
        } catch (RuntimeException ex) {
            ck.close();
            throw ex;
        }
    }

    /** The model directory. */
    public Path dir() {
        return dir;
    }

    /** config.json (a copy), including {@code quantization_config}. */
    public ObjectNode config() {
        return config.deepCopy();
    }

    /** The quantized linear weights by name ("model.layers.0.self_attn.q_proj.weight") with their type. */
    public Map<String, QuantType> quantizedWeights() {
        return quantized;
    }

    /** Every stored tensor (quant-state tensors included), for the non-quantized ones use {@link #readFloats}. */
    public ShardedCheckpoint tensors() {
        return tensors;
    }

    /** Loads one quantized linear weight. */
    public QuantizedMatrix load(String weight) {
        QuantType t = quantized.get(weight);
        if (t == null) {
            throw new IllegalArgumentException(
                    "'" + weight + "' is not a quantized weight of " + dir + "; quantized weights are e.g. "
                            + quantized.keySet().stream().limit(3).toList());
        }
        try {
            return t == QuantType.INT8
                    ? BnbLayout.readInt8(tensors, weight)
                    : BnbLayout.readFourBit(tensors, weight, t);
        } catch (BadInputException | UnsupportedOperationException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new BadInputException(
                    "model " + dir + ": quantized weight '" + weight + "' is inconsistent: " + e.getMessage()
                            + ". Fix: re-save the model",
                    e);
        }
    }

    /**
     * Where the 4-bit weight {@code weight} is stored and its quant state, every tensor checked, without reading the
     * codes: for readers that stream weights from disk into buffers of their own ({@link StoredFourBit#assemble}).
     */
    public StoredFourBit describe(String weight) {
        QuantType t = quantized.get(weight);
        if (t == null || t == QuantType.INT8) {
            throw new IllegalArgumentException(
                    "'" + weight + "' is not a 4-bit weight of " + dir + (t == null ? "" : " (it is " + t.id() + ")"));
        }
        return BnbLayout.describeFourBit(tensors, weight, t);
    }

    /**
     * Declares on {@code w} the tensors of the 4-bit matrix {@code q} stored as {@code weight} (a linear layer of an
     * fp32 model), in bitsandbytes' layout and order, as {@link #save} writes them: so a writer of its own (one shard
     * per layer, random weights) produces a directory that {@link #open} and transformers read.
     */
    public static void addFourBit(AbstractTensorWriter<?> w, String weight, QuantizedMatrix q) {
        if (q.type() == QuantType.INT8) throw new IllegalArgumentException(weight + " is int8, not a 4-bit matrix");
        if (q.doubleQuant() && q.nestedBlocksize() != Quantizer.NESTED_BLOCKSIZE) {
            throw new IllegalArgumentException(weight + ": nested blocksize " + q.nestedBlocksize() + ", bitsandbytes'"
                    + " quant state records " + Quantizer.NESTED_BLOCKSIZE);
        }
        byte[] state = BnbLayout.quantStateJson(
                        q.type(), q.blocksize(), "float32", q.rows(), q.cols(), q.doubleQuant(), q.nestedOffset())
                .getBytes(StandardCharsets.UTF_8);
        for (BnbLayout.Entry en : BnbLayout.fourBitEntries(
                weight, q.type(), q.rows(), q.cols(), q.blocksize(), q.doubleQuant(), state.length)) {
            String suffix = en.name().substring(weight.length());
            w.add(
                    en.name(),
                    en.dtype(),
                    en.shape(),
                    sink -> CheckpointQuantizer.writeFourBitPart(suffix, q, state, sink));
        }
    }

    /** A non-quantized tensor (embedding, norm, bias, lm_head) as floats. */
    public float[] readFloats(String name) {
        if (quantized.containsKey(name)) {
            throw new IllegalArgumentException("'" + name + "' is quantized; load it with load(name)");
        }
        return tensors.readFloats(name);
    }

    @Override
    public void close() {
        tensors.close();
    }

    // ------------------------------------------------------------------------------------------------ save helpers

    /** Declares every output tensor with a streaming source; quantizes each linear when its first tensor is written. */
    private static final class CheckpointQuantizer {
        private final ShardedCheckpoint ck;
        private final Quantizer quantizer;
        private String currentName;
        private QuantizedMatrix current;
        int linearTensors;
        int keptTensors;
        long linearParams;
        long keptParams;
        long storageBits;
        long residentBytes;
        long keptBytes;
        long sourceBytes;

        CheckpointQuantizer(ShardedCheckpoint ck, Quantizer quantizer) {
            this.ck = ck;
            this.quantizer = quantizer;
        }

        void declare(ShardedCheckpointWriter w) {
            for (Map.Entry<String, TensorInfo> e : ck.tensors().entrySet()) {
                String name = e.getKey();
                TensorInfo info = e.getValue();
                sourceBytes += info.byteSize();
                if (!isQuantizedLinear(name, info.shape())) {
                    keptTensors++;
                    keptParams += info.numel();
                    keptBytes += info.byteSize();
                    w.add(name, info.dtype(), info.shape(), sink -> copyRaw(name, sink));
                    continue;
                }
                if (!info.dtype().isFloat()) {
                    throw new BadInputException("checkpoint " + ck.source() + ": linear weight '" + name + "' is "
                            + info.dtype() + ", expected F32, F16 or BF16. Fix: quantize the original 16/32-bit model");
                }
                int rows = Math.toIntExact(info.dim(0));
                int cols = Math.toIntExact(info.dim(1));
                if ((long) rows * cols > Integer.MAX_VALUE - 8) {
                    throw new UnsupportedOperationException("linear weight '" + name + "' has " + (long) rows * cols
                            + " elements; at most 2^31 - 9 per matrix are supported");
                }
                linearTensors++;
                linearParams += (long) rows * cols;
                if (quantizer.type() == QuantType.INT8) {
                    declareInt8(w, name, rows, cols);
                } else {
                    declareFourBit(w, name, info.dtype(), rows, cols);
                }
            }
        }

        private void declareFourBit(ShardedCheckpointWriter w, String name, DType dtype, int rows, int cols) {
            // the quant-state JSON holds the double-quant offset, and its size must be declared before any data:
            // compute the offset now from the block absmax (cheap), quantize when the data is written
            float offset = quantizer.doubleQuant() ? quantizer.doubleQuantOffset(ck.readFloats(name)) : 0f;
            byte[] state = BnbLayout.quantStateJson(
                            quantizer.type(),
                            quantizer.blocksize(),
                            BnbLayout.torchDtype(dtype),
                            rows,
                            cols,
                            quantizer.doubleQuant(),
                            offset)
                    .getBytes(StandardCharsets.UTF_8);
            List<BnbLayout.Entry> entries = BnbLayout.fourBitEntries(
                    name, quantizer.type(), rows, cols, quantizer.blocksize(), quantizer.doubleQuant(), state.length);
            for (int i = 0; i < entries.size(); i++) {
                BnbLayout.Entry en = entries.get(i);
                boolean last = i == entries.size() - 1;
                w.add(en.name(), en.dtype(), en.shape(), sink -> {
                    QuantizedMatrix q = quantized(name, rows, cols);
                    if (q.doubleQuant() && Float.floatToIntBits(q.nestedOffset()) != Float.floatToIntBits(offset)) {
                        throw new IllegalStateException("double-quant offset of '" + name + "' changed between passes: "
                                + offset + " then " + q.nestedOffset());
                    }
                    writeFourBitPart(en.name().substring(name.length()), q, state, sink);
                    if (last) release();
                });
            }
        }

        private void declareInt8(ShardedCheckpointWriter w, String name, int rows, int cols) {
            List<BnbLayout.Entry> entries = BnbLayout.int8Entries(name, rows, cols);
            for (int i = 0; i < entries.size(); i++) {
                BnbLayout.Entry en = entries.get(i);
                int part = i;
                w.add(en.name(), en.dtype(), en.shape(), sink -> {
                    QuantizedMatrix q = quantized(name, rows, cols);
                    switch (part) {
                        case 0 -> sink.writeBytes(q.packedData(), 0, q.packedData().length);
                        case 1 -> sink.writeFloats(q.rowScaleData(), 0, rows);
                        default -> {
                            sink.writeBytes(new byte[] {0}, 0, 1);
                            release();
                        }
                    }
                });
            }
        }

        private static void writeFourBitPart(String suffix, QuantizedMatrix q, byte[] state, TensorSink sink) {
            if (suffix.isEmpty()) {
                sink.writeBytes(q.packedData(), 0, q.packedData().length);
            } else if (suffix.equals(BnbLayout.ABSMAX)) {
                if (q.doubleQuant()) sink.writeBytes(q.absmaxCodeData(), 0, q.absmaxCodeData().length);
                else sink.writeFloats(q.absmaxData(), 0, q.absmaxData().length);
            } else if (suffix.equals(BnbLayout.QUANT_MAP)) {
                sink.writeFloats(q.codeData(), 0, q.codeData().length);
            } else if (suffix.equals(BnbLayout.NESTED_ABSMAX)) {
                sink.writeFloats(q.nestedAbsmaxData(), 0, q.nestedAbsmaxData().length);
            } else if (suffix.equals(BnbLayout.NESTED_QUANT_MAP)) {
                sink.writeFloats(q.nestedCodeData(), 0, q.nestedCodeData().length);
            } else if (suffix.startsWith(BnbLayout.QUANT_STATE)) {
                sink.writeBytes(state, 0, state.length);
            } else {
                throw new IllegalStateException("unknown 4-bit tensor suffix '" + suffix + "'");
            }
        }

        /** The quantized form of {@code name}, computed on its first tensor and kept until its last is written. */
        private QuantizedMatrix quantized(String name, int rows, int cols) {
            if (!name.equals(currentName)) {
                try {
                    current = quantizer.quantize(ck.readFloats(name), rows, cols);
                } catch (IllegalArgumentException e) {
                    throw new BadInputException(
                            "checkpoint " + ck.source() + ", tensor '" + name + "': " + e.getMessage(), e);
                }
                currentName = name;
                storageBits += current.storageBits();
                residentBytes += current.residentBytes();
            }
            return current;
        }

        private void release() {
            current = null;
            currentName = null;
        }

        private void copyRaw(String name, TensorSink sink) {
            byte[] chunk = new byte[1 << 20];
            for (ByteBuffer b : ck.buffers(name)) {
                while (b.hasRemaining()) {
                    int n = Math.min(chunk.length, b.remaining());
                    b.get(chunk, 0, n);
                    sink.writeBytes(chunk, 0, n);
                }
            }
        }
    }

    private static ObjectNode readConfig(Path dir) {
        Path f = dir.resolve(CONFIG);
        if (!Files.isRegularFile(f)) {
            throw new BadInputException("model directory " + dir + " has no " + CONFIG
                    + ". Fix: point at a Hugging Face model directory (config.json + model.safetensors)");
        }
        try {
            JsonNode n = JSON.readTree(f.toFile());
            if (n == null || !n.isObject()) throw new BadInputException(f + ": expected a JSON object");
            return (ObjectNode) n;
        } catch (JsonProcessingException e) {
            throw new BadInputException(
                    f + " is not valid JSON (" + e.getOriginalMessage()
                            + "). Fix: restore the file from the model's repository",
                    e);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + f, e);
        }
    }

    /** transformers' {@code BitsAndBytesConfig.to_dict()} for this quantizer. */
    static ObjectNode quantizationConfig(Quantizer q) {
        boolean four = q.type() != QuantType.INT8;
        ObjectNode c = JSON.createObjectNode();
        c.put("_load_in_4bit", four);
        c.put("_load_in_8bit", !four);
        c.put("bnb_4bit_compute_dtype", "float32");
        c.put("bnb_4bit_quant_storage", "uint8");
        c.put("bnb_4bit_quant_type", four ? q.type().id() : "fp4");
        c.put("bnb_4bit_use_double_quant", q.doubleQuant());
        c.put("llm_int8_enable_fp32_cpu_offload", false);
        c.put("llm_int8_has_fp16_weight", false);
        c.putNull("llm_int8_skip_modules");
        c.put("llm_int8_threshold", 6.0);
        c.put("load_in_4bit", four);
        c.put("load_in_8bit", !four);
        c.put("quant_method", "bitsandbytes");
        return c;
    }

    /** Writes {@code config} with the {@code quantization_config} of {@code q} as {@code out/config.json}. */
    public static void writeConfig(Path out, ObjectNode config, Quantizer q) {
        ObjectNode c = config.deepCopy();
        c.set("quantization_config", quantizationConfig(q));
        Path f = out.resolve(CONFIG);
        try {
            Files.write(f, (JSON.writeValueAsString(c) + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + f, e);
        }
    }

    /** Copies tokenizer files, generation config etc.: every regular file that is not weights or config.json. */
    private static void copyOtherFiles(Path src, Path out) {
        List<Path> files = new ArrayList<>();
        try (Stream<Path> s = Files.list(src)) {
            s.filter(Files::isRegularFile).forEach(files::add);
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + src, e);
        }
        for (Path f : files) {
            String n = f.getFileName().toString();
            if (n.equals(CONFIG)
                    || n.startsWith(".")
                    || n.endsWith(".safetensors")
                    || n.endsWith(".index.json")
                    || n.endsWith(".bin")
                    || n.endsWith(".pt")
                    || n.endsWith(".pth")
                    || n.endsWith(".gguf")) {
                continue;
            }
            try {
                Files.copy(f, out.resolve(n), StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new UncheckedIOException("copying " + f + " to " + out, e);
            }
        }
    }

    private static long size(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            throw new UncheckedIOException("reading the size of " + f, e);
        }
    }
}
