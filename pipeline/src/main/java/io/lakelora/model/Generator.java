package io.lakelora.model;

import java.util.Arrays;
import java.util.Set;
import java.util.function.IntConsumer;

/** Autoregressive generation on a {@link LlamaSession}: the prompt as one chunked forward, then one token at a time. */
public final class Generator {
    private Generator() {}

    /**
     * @param maxNewTokens stop after this many generated tokens
     * @param eosIds       generation stops after emitting any of these (the EOS token is included in the output)
     */
    public record Config(int maxNewTokens, float temperature, int topK, float topP, long seed, Set<Integer> eosIds) {
        public Config {
            if (maxNewTokens < 0)
                throw new IllegalArgumentException("max new tokens must be >= 0, got " + maxNewTokens);
            eosIds = Set.copyOf(eosIds);
        }

        public static Config greedy(int maxNewTokens, Set<Integer> eosIds) {
            return new Config(maxNewTokens, 0f, 0, 1f, 0L, eosIds);
        }
    }

    /**
     * @param tokens        the generated ids (prompt excluded)
     * @param stoppedAtEos  whether generation ended on an EOS id
     * @param promptSeconds time to process the prompt
     * @param genSeconds    time to generate the remaining tokens
     */
    public record Result(int[] tokens, boolean stoppedAtEos, double promptSeconds, double genSeconds) {}

    /**
     * Generates from {@code prompt} (non-empty, e.g. starting with BOS) on a reset session; {@code onToken} (nullable)
     * sees each id as it is produced.
     */
    public static Result generate(LlamaSession session, int[] prompt, Config cfg, IntConsumer onToken) {
        if (prompt.length == 0)
            throw new IllegalArgumentException("the prompt is empty: give at least one token (BOS)");
        if (prompt.length + cfg.maxNewTokens() > session.capacity()) {
            throw new IllegalArgumentException("prompt (" + prompt.length + ") + max new tokens (" + cfg.maxNewTokens()
                    + ") exceed the session capacity " + session.capacity());
        }
        Sampler sampler = new Sampler(cfg.temperature(), cfg.topK(), cfg.topP(), cfg.seed());
        session.reset();
        int[] out = new int[cfg.maxNewTokens()];
        int n = 0;
        boolean eos = false;
        long t0 = System.nanoTime();
        float[] logits = cfg.maxNewTokens() == 0 ? null : session.forward(prompt);
        long t1 = System.nanoTime();
        int[] one = new int[1];
        while (n < cfg.maxNewTokens()) {
            int next = sampler.sample(logits);
            out[n++] = next;
            if (onToken != null) onToken.accept(next);
            if (cfg.eosIds().contains(next)) {
                eos = true;
                break;
            }
            if (n == cfg.maxNewTokens()) break;
            one[0] = next;
            logits = session.forward(one);
        }
        long t2 = System.nanoTime();
        return new Result(Arrays.copyOf(out, n), eos, (t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }
}
