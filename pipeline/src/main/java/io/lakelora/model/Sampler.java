package io.lakelora.model;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits: greedy (argmax, lowest id on ties) when temperature is 0, else sampling from
 * {@code softmax(logits / temperature)} restricted to the top-k tokens (k <= 0: all) and then to the smallest set whose
 * probability reaches top-p (p >= 1: all), in Hugging Face's processor order (temperature, top-k, top-p). The RNG is
 * seeded, so a seed reproduces a generation.
 */
public final class Sampler {
    private final float temperature;
    private final int topK;
    private final float topP;
    private final SplittableRandom rnd;
    private Integer[] order = new Integer[0];
    private double[] probs = new double[0];

    public Sampler(float temperature, int topK, float topP, long seed) {
        if (!(temperature >= 0f) || !Float.isFinite(temperature)) {
            throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        }
        if (!(topP > 0f && topP <= 1f)) throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.rnd = new SplittableRandom(seed);
    }

    public boolean greedy() {
        return temperature == 0f;
    }

    public int sample(float[] logits) {
        int V = logits.length;
        if (greedy()) return argmax(logits);
        if (order.length != V) {
            order = new Integer[V];
            probs = new double[V];
        }
        for (int i = 0; i < V; i++) order[i] = i;
        Arrays.sort(order, (p, q) -> {
            int c = Float.compare(logits[q], logits[p]);
            return c != 0 ? c : Integer.compare(p, q);
        });
        int keep = topK > 0 ? Math.min(topK, V) : V;
        double max = logits[order[0]] / (double) temperature;
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            probs[i] = Math.exp(logits[order[i]] / (double) temperature - max);
            sum += probs[i];
        }
        if (topP < 1f) {
            double cum = 0;
            int n = 0;
            while (n < keep) {
                cum += probs[n] / sum;
                n++;
                if (cum >= topP) break;
            }
            keep = n;
            sum = 0;
            for (int i = 0; i < keep; i++) sum += probs[i];
        }
        double u = rnd.nextDouble() * sum;
        double acc = 0;
        for (int i = 0; i < keep; i++) {
            acc += probs[i];
            if (u < acc) return order[i];
        }
        return order[keep - 1];
    }

    /** Index of the largest logit (the lowest index among equal maxima). */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }
}
