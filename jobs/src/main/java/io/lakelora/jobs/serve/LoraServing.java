package io.lakelora.jobs.serve;

import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.jobs.runtime.QuantizedModelMarker;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.lora.LoraConfig;
import io.lakelora.model.Generator;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.LlamaSession;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.LoraAdapter;
import io.lakelora.model.LoraSpec;
import io.lakelora.model.ModelConfig;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.Quantizer;
import io.lakelora.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Function;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkEnv;
import org.apache.spark.deploy.SparkHadoopUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Inference with a base model and a PEFT adapter inside any JVM of a Spark application (executors for the SQL UDFs,
 * the driver for sample generations). A JVM-wide cache (holder idiom: static maps, filled on first use, kept for the
 * JVM's lifetime) holds each base model and its tokenizer once per (model URI, quant, file fingerprint), each adapter
 * once per (adapter URI, its fingerprint, base), and a pool of inference sessions (KV caches) per target, so concurrent
 * tasks never share a session. Models and adapters are read from the lake through the Hadoop file system (copied to a
 * local cache for non-file URIs), never shipped from the driver. A failed load is not cached.
 *
 * <p>Freshness: the fingerprint is {@link LakeFs#fingerprint} (names, lengths and modification times of the
 * directory's files), the key training ({@code LoraLlamaFactory}) and evaluation use. It is re-read at most every
 * {@value #DEFAULT_RECHECK_MS} ms per directory and JVM (system property {@value #RECHECK_PROPERTY}; 0: on every
 * call), so a base or adapter rewritten in place under the same URI is loaded again, and the stale copies and their
 * sessions are dropped, within that interval.
 */
public final class LoraServing {
    private static final Logger LOG = LoggerFactory.getLogger(LoraServing.class);

    /** System property: milliseconds between two fingerprint reads of one directory (default 10000; 0: always). */
    public static final String RECHECK_PROPERTY = "lakelora.serve.recheck.ms";

    public static final long DEFAULT_RECHECK_MS = 10_000;
    private static final Map<String, LlamaWeights> BASES = new ConcurrentHashMap<>();
    private static final Map<String, Tokenizer> TOKENIZERS = new ConcurrentHashMap<>();
    private static final Map<String, LoraAdapter> ADAPTERS = new ConcurrentHashMap<>();
    private static final Map<String, Queue<LlamaSession>> SESSIONS = new ConcurrentHashMap<>();
    /** (model URI, quant) -> the fingerprinted base key currently held for it. */
    private static final Map<String, String> GROUPS = new ConcurrentHashMap<>();
    /** directory URI -> its fingerprint and when it was read. */
    private static final Map<String, Checked> FINGERPRINTS = new ConcurrentHashMap<>();

    private static final int MIN_CAPACITY = 128;
    private static final int CHUNK = 256;

    private record Checked(String fingerprint, long atNanos) {}

    /** What one call serves with: the base (by its fingerprinted key), tokenizer, adapter and session pool key. */
    private record Served(String baseKey, LlamaWeights weights, Tokenizer tokenizer, LoraAdapter adapter) {}

    private LoraServing() {}

    /** Greedy continuation of {@code prompt} (BOS added), at most {@code maxNewTokens}; the text without the prompt. */
    public static String generate(ServeTarget t, String prompt, int maxNewTokens) {
        if (prompt == null) return null;
        if (maxNewTokens < 0) throw new IllegalArgumentException("max new tokens must be >= 0, got " + maxNewTokens);
        Served sv = served(t);
        Tokenizer tok = sv.tokenizer();
        ModelConfig arch = sv.weights().arch();
        int[] ids = tok.encode(prompt, true);
        int maxPos = arch.maxPositionEmbeddings();
        if (ids.length >= maxPos) {
            throw new IllegalArgumentException("prompt of " + ids.length + " tokens leaves no room to generate: the "
                    + "model's max_position_embeddings is " + maxPos + ". Fix: shorten the prompt (prompt starts: '"
                    + preview(prompt) + "')");
        }
        int n = Math.min(maxNewTokens, maxPos - ids.length); // stop at the model's context length
        Set<Integer> eos = new LinkedHashSet<>();
        for (int id : tok.eosIds()) eos.add(id);
        for (int id : arch.eosTokenIds()) eos.add(id);
        Generator.Result r = withSession(
                t, sv, ids.length + n, s -> Generator.generate(s, ids, Generator.Config.greedy(n, eos), null));
        return tok.decode(r.tokens(), true);
    }

    /**
     * Mean negative log-likelihood (nats per predicted token) of {@code text} encoded with BOS: every token after the
     * first is predicted. Null for null text or text without a token to predict.
     */
    public static Double score(ServeTarget t, String text) {
        if (text == null) return null;
        Served sv = served(t);
        int[] ids = sv.tokenizer().encode(text, true);
        if (ids.length < 2) return null;
        int maxPos = sv.weights().arch().maxPositionEmbeddings();
        if (ids.length > maxPos) {
            throw new IllegalArgumentException("text of " + ids.length + " tokens is longer than the model's "
                    + "max_position_embeddings " + maxPos + ". Fix: split long texts before scoring (text starts: '"
                    + preview(text) + "')");
        }
        double[] s = withSession(t, sv, ids.length, session -> session.score(ids));
        return s[0] / s[1];
    }

    /** Runs {@code work} on a session of {@code t} with room for {@code tokens} tokens, borrowed from the pool. */
    private static <R> R withSession(ServeTarget t, Served sv, int tokens, Function<LlamaSession, R> work) {
        LlamaWeights w = sv.weights();
        String key = sv.baseKey() + "|" + t.adapterUri() + "|" + adapterFingerprint(t) + "|" + t.threads();
        Queue<LlamaSession> pool = SESSIONS.computeIfAbsent(key, k -> new ConcurrentLinkedQueue<>());
        LlamaSession s = pool.poll();
        if (s == null || s.capacity() < tokens) {
            int cap = Math.min(
                    w.arch().maxPositionEmbeddings(),
                    Math.max(MIN_CAPACITY, Integer.highestOneBit(Math.max(1, tokens - 1)) << 1));
            s = new LlamaSession(
                    w, KernelProvider.withThreads(t.threads()), sv.adapter(), Math.max(cap, tokens), CHUNK);
        }
        try {
            return work.apply(s);
        } finally {
            pool.offer(s);
        }
    }

    /** The base, tokenizer and adapter of {@code t} for its files as they are now (one fingerprint read per call). */
    private static Served served(ServeTarget t) {
        String key = t.baseKey() + "|" + fingerprint(t.modelUri());
        LlamaWeights w = base(t, key);
        Tokenizer tok = TOKENIZERS.computeIfAbsent(key, k -> Tokenizer.load(localModelDir(t.modelUri())));
        LoraAdapter a = t.adapterUri() == null ? null : adapter(t, key, w);
        return new Served(key, w, tok, a);
    }

    /** The base model of {@code t} (its files as they are now), loaded once per JVM and fingerprint. */
    public static LlamaWeights base(ServeTarget t) {
        return served(t).weights();
    }

    private static LlamaWeights base(ServeTarget t, String key) {
        LlamaWeights weights = BASES.computeIfAbsent(key, k -> {
            long t0 = System.nanoTime();
            Path dir = localModelDir(t.modelUri());
            QuantType want = QuantType.parse(t.quant());
            QuantType stored = LlamaLoader.storedQuantization(dir);
            if (stored != null && stored != want) {
                throw new IllegalArgumentException("model " + t.modelUri() + " is stored quantized as " + stored.id()
                        + " but quant " + want.id() + " was asked. Fix: ask for " + stored.id() + ", or point at the "
                        + "original fp32/bf16 model");
            }
            LlamaWeights w = LlamaLoader.load(
                    dir,
                    stored != null || want == QuantType.NONE
                            ? null
                            : new Quantizer(want, Quantizer.DEFAULT_BLOCKSIZE, want != QuantType.INT8)::quantize);
            System.err.printf(
                    "[lakelora] loaded base %s (%s) in %.1f s%n",
                    t.modelUri(), want.id(), (System.nanoTime() - t0) / 1e9);
            return w;
        });
        String old = GROUPS.put(t.baseKey(), key);
        if (old != null && !old.equals(key)) drop(old); // the files changed under the same URI
        return weights;
    }

    /** Drops a stale base key: its weights, tokenizer, adapters and sessions (running calls keep their references). */
    private static void drop(String oldKey) {
        BASES.remove(oldKey);
        TOKENIZERS.remove(oldKey);
        ADAPTERS.keySet().removeIf(k -> k.endsWith("|" + oldKey));
        SESSIONS.keySet().removeIf(k -> k.startsWith(oldKey + "|"));
        LOG.info("[lakelora] base files changed, dropped {}", oldKey);
    }

    /** The adapter of {@code t} mapped onto its base, loaded once per JVM (and adapter and base fingerprint). */
    public static LoraAdapter adapter(ServeTarget t) {
        if (t.adapterUri() == null) throw new IllegalArgumentException("target has no adapter");
        return served(t).adapter();
    }

    private static LoraAdapter adapter(ServeTarget t, String baseKey, LlamaWeights w) {
        String prefix = t.adapterUri() + "|";
        String key = prefix + adapterFingerprint(t) + "|" + baseKey;
        LoraAdapter a = ADAPTERS.computeIfAbsent(key, k -> {
            PeftAdapter.Loaded l = PeftAdapter.load(localDir(t.adapterUri(), "lakelora-adapters"), w.arch());
            return toLoraAdapter(l);
        });
        // an adapter rewritten in place: drop its older copies on this base
        ADAPTERS.keySet().removeIf(k -> k.startsWith(prefix) && k.endsWith("|" + baseKey) && !k.equals(key));
        return a;
    }

    private static String adapterFingerprint(ServeTarget t) {
        return t.adapterUri() == null ? "-" : fingerprint(t.adapterUri());
    }

    /**
     * {@link LakeFs#fingerprint} of a directory, read again when the last read is older than
     * {@value #RECHECK_PROPERTY} ms.
     */
    static String fingerprint(String uri) {
        long now = System.nanoTime();
        long recheckNanos = Math.max(0, Long.getLong(RECHECK_PROPERTY, DEFAULT_RECHECK_MS)) * 1_000_000L;
        Checked c = FINGERPRINTS.get(uri);
        if (c != null && now - c.atNanos() < recheckNanos) return c.fingerprint();
        String fp = new LakeFs(hadoopConf()).fingerprint(uri);
        FINGERPRINTS.put(uri, new Checked(fp, now));
        return fp;
    }

    /** An imported PEFT adapter as the inference model's adapter (dropout off). */
    public static LoraAdapter toLoraAdapter(PeftAdapter.Loaded l) {
        LoraConfig c = l.config();
        LoraSpec spec = LoraSpec.of(c.r(), c.loraAlpha(), c.useRslora(), 0.0, c.targets());
        return new LoraAdapter(spec, l.layout(), l.params());
    }

    /**
     * The local copy of a model directory. A directory from job 00 is cached under its marker's weights sha256, so a
     * model replaced in place (quantize-base with output.overwrite) is fetched again rather than served stale.
     */
    static Path localModelDir(String uri) {
        return localModelDir(new LakeFs(hadoopConf()), uri);
    }

    /** {@link #localModelDir(String)} with the given file system settings (the driver's session). */
    public static Path localModelDir(LakeFs fs, String uri) {
        String scheme = new org.apache.hadoop.fs.Path(uri).toUri().getScheme();
        String generation = scheme == null || scheme.equals("file")
                ? "local"
                : QuantizedModelMarker.read(fs, uri)
                        .map(m -> m.sha256().substring(0, 16))
                        .orElse("unversioned");
        return fs.localCopy(uri, Path.of(System.getProperty("java.io.tmpdir"), "lakelora-models", generation));
    }

    /** A local directory with the files of {@code uri} (the directory itself for file: URIs). */
    static Path localDir(String uri, String cacheName) {
        return new LakeFs(hadoopConf()).localCopy(uri, Path.of(System.getProperty("java.io.tmpdir"), cacheName));
    }

    /** The Hadoop configuration of this Spark JVM (with the application's S3A settings), or a default one. */
    static Configuration hadoopConf() {
        SparkEnv env = SparkEnv.get();
        return env == null ? new Configuration() : SparkHadoopUtil.get().newConfiguration(env.conf());
    }

    private static String preview(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }

    /** Number of base models this JVM holds (tests and diagnostics). */
    public static int bases() {
        return BASES.size();
    }

    /** The (model URI, quant) keys of the bases this JVM holds (tests and diagnostics). */
    public static java.util.Set<String> baseKeys() {
        return java.util.Set.copyOf(GROUPS.keySet());
    }

    /** Drops everything (tests). */
    public static void clear() {
        BASES.clear();
        TOKENIZERS.clear();
        ADAPTERS.clear();
        SESSIONS.clear();
        GROUPS.clear();
        FINGERPRINTS.clear();
    }
}
