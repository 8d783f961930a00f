package io.lakelora.model;

import io.lakelora.error.BadInputException;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.nn.FrozenLinear;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.io.QuantizedCheckpoint;
import io.lakelora.quant.io.StoredFourBit;
import io.lakelora.safetensors.SafetensorsFile;
import io.lakelora.safetensors.ShardedCheckpoint;
import io.lakelora.safetensors.TensorInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A frozen base read from a 4-bit checkpoint on local disk while it trains, for models larger than memory: the decoder
 * layers stream through a {@link LayerRing} of K layer buffers (the next layer read while the current one computes);
 * the token embedding stays on disk and each step reads only the rows of its tokens; the final norm and the output head
 * are read into memory once (the head is used in full twice per step; with tied embeddings the embedding is held too).
 *
 * <p>The directory is any bitsandbytes-quantized Hugging Face checkpoint this project reads (written by
 * {@code lakelora quantize} / job 00, or by transformers): config.json with a 4-bit {@code quantization_config},
 * safetensors shards in transformers' layout. The computation is the in-memory model's: {@link LoraLlama} over this
 * base gives bit-identical losses and gradients to {@link LlamaLoader#load} of the same directory.
 */
public final class StreamedBase implements FrozenBase, AutoCloseable {
    private final Path dir;
    private final ModelConfig arch;
    private final ExtentFiles files;
    private final LayerRing ring;
    private final float[] finalNorm;
    private final FrozenLinear lmHead;
    private final float[] embedding; // (V, C) when tied (the head is a view over it), else null: rows read from disk
    private final ExtentFiles.Extent embeddingExtent;
    private final ExtentFiles.Reader rowReader;

    private StreamedBase(
            Path dir,
            ModelConfig arch,
            ExtentFiles files,
            LayerRing ring,
            float[] finalNorm,
            FrozenLinear lmHead,
            float[] embedding,
            ExtentFiles.Extent embeddingExtent) {
        this.dir = dir;
        this.arch = arch;
        this.files = files;
        this.ring = ring;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.embedding = embedding;
        this.embeddingExtent = embeddingExtent;
        this.rowReader = files.reader();
    }

    /**
     * Opens the 4-bit checkpoint in {@code dir} (every tensor's location and quant state checked) with a ring of
     * {@code slots} layer buffers.
     */
    public static StreamedBase open(Path dir, int slots, LayerRing.Io io) {
        Path d = dir.toAbsolutePath().normalize();
        ModelConfig cfg = LlamaLoader.config(d);
        QuantType stored = LlamaLoader.storedQuantization(d);
        if (stored == null || stored == QuantType.INT8) {
            throw new BadInputException("model " + d + " is " + (stored == null ? "not quantized" : "stored in int8")
                    + "; streaming reads 4-bit (NF4/FP4) checkpoints. Fix: quantize it first with 'lakelora quantize"
                    + " --model " + d + " --out DIR' and stream DIR");
        }
        List<LayerRing.LayerPlan> plans = new ArrayList<>();
        List<Path> paths = new ArrayList<>();
        ExtentFiles.Extent embExtent;
        ExtentFiles.Extent normExtent;
        ExtentFiles.Extent headExtent;
        try (QuantizedCheckpoint qc = QuantizedCheckpoint.open(d)) {
            ShardedCheckpoint ck = qc.tensors();
            Map<SafetensorsFile, Integer> index = new IdentityHashMap<>();
            for (SafetensorsFile f : ck.files()) {
                index.put(f, paths.size());
                paths.add(f.path());
            }
            Locator at = new Locator(ck, index, d);
            int C = cfg.hiddenSize();
            for (int l = 0; l < cfg.numLayers(); l++) {
                plans.add(plan(cfg, qc, at, l));
                if (l > 0) sameShapes(plans.get(0), plans.get(l), l, d);
            }
            embExtent = at.floats("model.embed_tokens.weight", cfg.vocabSize(), C);
            normExtent = at.floats("model.norm.weight", C);
            headExtent = cfg.tieWordEmbeddings() ? null : at.floats("lm_head.weight", cfg.vocabSize(), C);
        }
        ExtentFiles files = new ExtentFiles(paths, io);
        try {
            ExtentFiles.Reader r = files.reader();
            int V = cfg.vocabSize();
            int C = cfg.hiddenSize();
            float[] norm = new float[C];
            r.readFloats(normExtent, norm, 0);
            float[] emb = null;
            FrozenLinear head;
            if (cfg.tieWordEmbeddings()) {
                emb = new float[Math.multiplyExact(V, C)];
                r.readFloats(embExtent, emb, 0);
                head = FrozenLinear.denseView(V, C, emb, 0);
            } else {
                float[] w = new float[Math.multiplyExact(V, C)];
                r.readFloats(headExtent, w, 0);
                head = FrozenLinear.dense(V, C, w, null);
            }
            LayerRing ring = new LayerRing(cfg, plans, files, slots);
            return new StreamedBase(d, cfg, files, ring, norm, head, emb, embExtent);
        } catch (RuntimeException e) {
            files.close();
            throw e;
        }
    }

    /** Tensor name -> extent in the opened files, with shape checks naming the tensor and the fix. */
    private record Locator(ShardedCheckpoint ck, Map<SafetensorsFile, Integer> index, Path dir) {
        ExtentFiles.Extent any(String name) {
            if (!ck.contains(name)) {
                throw new BadInputException("checkpoint " + dir + " has no tensor '" + name + "'. Fix: check that"
                        + " config.json belongs to these weights (layer count, tie_word_embeddings, biases)");
            }
            SafetensorsFile f = ck.fileOf(name);
            TensorInfo t = f.info(name);
            return new ExtentFiles.Extent(index.get(f), f.dataStart() + t.begin(), t.byteSize(), t.dtype());
        }

        ExtentFiles.Extent floats(String name, long... shape) {
            ExtentFiles.Extent e = any(name);
            TensorInfo t = ck.info(name);
            if (!t.dtype().isFloat() || !Arrays.equals(t.shape(), shape)) {
                throw new BadInputException("tensor '" + name + "' in " + dir + " is " + t.dtype() + " "
                        + Arrays.toString(t.shape()) + ", config.json implies a float tensor of shape "
                        + Arrays.toString(shape) + ". Fix: use the config.json that belongs to these weights");
            }
            return e;
        }
    }

    private static LayerRing.LayerPlan plan(ModelConfig cfg, QuantizedCheckpoint qc, Locator at, int l) {
        int C = cfg.hiddenSize();
        int n = TargetModule.values().length;
        StoredFourBit[] lin = new StoredFourBit[n];
        ExtentFiles.Extent[] packed = new ExtentFiles.Extent[n];
        ExtentFiles.Extent[] absmax = new ExtentFiles.Extent[n];
        ExtentFiles.Extent[] nested = new ExtentFiles.Extent[n];
        ExtentFiles.Extent[] nestedCode = new ExtentFiles.Extent[n];
        ExtentFiles.Extent[] bias = new ExtentFiles.Extent[n];
        for (TargetModule m : TargetModule.values()) {
            int i = m.ordinal();
            int in = AdapterLayout.inFeatures(m, C, cfg.qDim(), cfg.intermediateSize());
            int out = AdapterLayout.outFeatures(m, C, cfg.qDim(), cfg.kvDim(), cfg.intermediateSize());
            String name = m.modulePath(l) + ".weight";
            if (!qc.quantizedWeights().containsKey(name)) {
                throw new BadInputException("checkpoint " + qc.dir() + " has no quantized weight '" + name + "'. Fix:"
                        + " check that config.json belongs to these weights and that every shard is there");
            }
            StoredFourBit d = qc.describe(name);
            if (d.rows() != out || d.cols() != in) {
                throw new BadInputException("quantized weight '" + name + "' in " + qc.dir() + " is " + d.rows() + "x"
                        + d.cols() + ", config.json implies " + out + "x" + in);
            }
            lin[i] = d;
            packed[i] = at.any(d.weight());
            absmax[i] = at.any(d.absmax());
            if (d.doubleQuant()) {
                nested[i] = at.any(d.nestedAbsmax());
                nestedCode[i] = at.any(d.nestedQuantMap());
            }
            if (LlamaWeights.hasBias(cfg, m)) bias[i] = at.floats(m.modulePath(l) + ".bias", out);
        }
        String p = "model.layers." + l + ".";
        return new LayerRing.LayerPlan(
                lin,
                packed,
                absmax,
                nested,
                nestedCode,
                bias,
                at.floats(p + "input_layernorm.weight", C),
                at.floats(p + "post_attention_layernorm.weight", C));
    }

    /** The ring's buffers are sized by layer 0: every layer must store its linears the same way. */
    private static void sameShapes(LayerRing.LayerPlan first, LayerRing.LayerPlan p, int l, Path dir) {
        for (int m = 0; m < first.linear().length; m++) {
            StoredFourBit a = first.linear()[m];
            StoredFourBit b = p.linear()[m];
            boolean same = a.type() == b.type()
                    && a.blocksize() == b.blocksize()
                    && a.doubleQuant() == b.doubleQuant()
                    && a.nestedBlocksize() == b.nestedBlocksize();
            if (!same || p.attnNorm().dtype() != first.attnNorm().dtype()) {
                throw new UnsupportedOperationException("checkpoint " + dir + ": layer " + l + " stores " + b.weight()
                        + " as " + b + ", layer 0 as " + a + "; streaming needs every layer stored alike");
            }
        }
    }

    @Override
    public ModelConfig arch() {
        return arch;
    }

    /** Token {@code id}'s row, read from disk (or from memory with tied embeddings). */
    @Override
    public synchronized void embeddingRow(int id, float[] dst, int off) {
        int C = arch.hiddenSize();
        if (embedding != null) {
            System.arraycopy(embedding, id * C, dst, off, C);
            return;
        }
        if (id < 0 || id >= arch.vocabSize()) throw new IndexOutOfBoundsException("token " + id);
        long es = embeddingExtent.dtype().size();
        ExtentFiles.Extent e = new ExtentFiles.Extent(
                embeddingExtent.file(), embeddingExtent.pos() + es * C * id, es * C, embeddingExtent.dtype());
        rowReader.readFloats(e, dst, off);
    }

    @Override
    public LayerRing layerSource() {
        return ring;
    }

    @Override
    public float[] finalNorm() {
        return finalNorm;
    }

    @Override
    public FrozenLinear lmHead() {
        return lmHead;
    }

    /** Bytes of embedding rows read from disk so far. */
    public synchronized long embeddingBytesRead() {
        return rowReader.bytes();
    }

    /** Bytes held in memory: the ring's K layers, the final norm, the head (and the tied embedding). */
    public long residentBytes() {
        return ring.residentBytes() + 4L * finalNorm.length + lmHead.residentBytes();
    }

    public Path dir() {
        return dir;
    }

    @Override
    public void close() {
        files.close();
    }

    @Override
    public String toString() {
        return "StreamedBase[" + dir + ", " + ring + "]";
    }
}
