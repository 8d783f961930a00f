package io.lakelora.train;

/**
 * The SUM of token cross-entropies (nats) over a micro-batch and the number of target tokens. Sums, not means, so that
 * micro-batches and executors combine by addition; the mean loss is {@code lossSum / tokens}.
 */
public record LossSum(double lossSum, long tokens) {
    public LossSum plus(LossSum o) {
        return new LossSum(lossSum + o.lossSum, tokens + o.tokens);
    }

    public double mean() {
        return tokens == 0 ? Double.NaN : lossSum / tokens;
    }

    public static final LossSum ZERO = new LossSum(0, 0);
}
