package io.lakelora.cli;

import io.lakelora.kernel.KernelProvider;
import io.lakelora.kernel.Kernels;
import io.lakelora.model.Architecture;
import io.lakelora.model.LlamaSession;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.ModelConfig;
import io.lakelora.model.WeightQuantizer;
import io.lakelora.quant.QuantType;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakelora bench-forward}: forward throughput of a TinyLlama-1.1B-shaped model with random weights (hidden 2048,
 * 22 layers, 32 heads, 4 KV heads, ffn 5632, vocab 32000), fp32 and NF4+DQ in the same run: prompt processing
 * (tokens/s, one chunked forward) and decoding (tokens/s, one token at a time with the KV cache).
 */
@Command(name = "bench-forward", description = "Forward tokens/s of a TinyLlama-1.1B-shaped random model, fp32 vs NF4.")
public final class BenchForwardCommand extends BaseCommand {

    @Option(names = "--quant", split = ",", description = "Modes to run, in order (default: none,nf4).")
    List<String> quant = List.of("none", "nf4");

    @Option(names = "--layers", description = "Decoder layers (default 22; fewer for a quick run).")
    int layers = 22;

    @Option(names = "--prompt-tokens", description = "Prompt length processed as one chunk (default 128).")
    int promptTokens = 128;

    @Option(names = "--decode-tokens", description = "Tokens decoded one at a time after the prompt (default 16).")
    int decodeTokens = 16;

    @Option(names = "--seed", description = "Weight and prompt seed (default 1).")
    long seed = 1;

    @Option(names = "--repeat", description = "Timed repetitions; the best is reported (default 3).")
    int repeat = 3;

    @Override
    protected Map<String, Object> execute() {
        if (layers <= 0 || promptTokens <= 0 || decodeTokens <= 0 || repeat <= 0) {
            throw new IllegalArgumentException("--layers, --prompt-tokens, --decode-tokens and --repeat must be > 0");
        }
        ModelConfig arch = ModelConfig.builder(Architecture.LLAMA)
                .vocabSize(32000)
                .hiddenSize(2048)
                .intermediateSize(5632)
                .numLayers(layers)
                .numHeads(32)
                .numKvHeads(4)
                .rmsNormEps(1e-5)
                .maxPositionEmbeddings(2048)
                .build();
        Kernels kern = KernelProvider.get();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("model", "TinyLlama-1.1B shape, random weights, " + layers + " layers");
        out.put("kernels", kern.name());
        out.put("threads", kern.threads());
        out.put("prompt_tokens", promptTokens);
        out.put("decode_tokens", decodeTokens);
        List<Map<String, Object>> runs = new ArrayList<>();
        for (String q : quant) {
            QuantType type = QuantType.parse(q);
            runs.add(run(arch, kern, type));
            System.gc();
        }
        out.put("runs", runs);
        if (runs.size() == 2) {
            out.put(
                    "prefill_ratio_" + quant.get(1) + "_vs_" + quant.get(0),
                    round((double) runs.get(1).get("prefill_tok_s")
                            / (double) runs.get(0).get("prefill_tok_s")));
            out.put(
                    "decode_ratio_" + quant.get(1) + "_vs_" + quant.get(0),
                    round((double) runs.get(1).get("decode_tok_s")
                            / (double) runs.get(0).get("decode_tok_s")));
        }
        return out;
    }

    private Map<String, Object> run(ModelConfig arch, Kernels kern, QuantType type) {
        log("[bench-forward] building " + type.id() + " weights ...");
        long t0 = System.nanoTime();
        WeightQuantizer wq = ModelLoading.quantizer(type);
        LlamaWeights w = LlamaWeights.random(arch, seed, 0.02f, wq);
        double buildS = (System.nanoTime() - t0) / 1e9;
        int[] prompt = new SplittableRandom(seed)
                .ints(promptTokens, 0, arch.vocabSize())
                .toArray();
        LlamaSession s = new LlamaSession(w, kern, null, promptTokens + decodeTokens + 1, promptTokens);
        // the first repetition also warms up the JIT; the best repetition is reported
        long prefill = Long.MAX_VALUE;
        long decode = Long.MAX_VALUE;
        int[] one = new int[1];
        for (int rep = 0; rep < repeat + 1; rep++) {
            s.reset();
            long p0 = System.nanoTime();
            s.forward(prompt);
            long p1 = System.nanoTime();
            for (int i = 0; i < decodeTokens; i++) {
                one[0] = (7 * i + 11) % arch.vocabSize();
                s.forward(one);
            }
            long p2 = System.nanoTime();
            if (rep > 0 || repeat == 0) {
                prefill = Math.min(prefill, p1 - p0);
                decode = Math.min(decode, p2 - p1);
            }
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("quant", type.id());
        r.put("weights_gb", round(w.residentBytes() / 1e9));
        r.put("linear_bits_per_param", round(w.linearBitsPerParam()));
        r.put("build_s", round(buildS));
        r.put("prefill_tok_s", round(promptTokens / (prefill / 1e9)));
        r.put("decode_tok_s", round(decodeTokens / (decode / 1e9)));
        // decoder layers only (the prompt pass applies the head to its last token only); attention scores excluded
        long C = arch.hiddenSize();
        long perLayer = C * arch.qDim() * 2 + 2 * C * arch.kvDim() + 3 * C * arch.intermediateSize();
        double flopsPerToken = 2.0 * perLayer * arch.numLayers();
        r.put("prefill_gflop_s", round(flopsPerToken * promptTokens / (prefill / 1e9) / 1e9));
        log("[bench-forward] " + r);
        return r;
    }

    private static double round(double x) {
        return Math.round(x * 1000) / 1000.0;
    }

    @Override
    protected void printHuman(Map<String, Object> result, PrintStream out) {
        result.forEach((k, v) -> {
            if (v instanceof List<?> list) {
                for (Object o : list) out.println(k + ": " + o);
            } else {
                out.println(k + ": " + v);
            }
        });
    }
}
