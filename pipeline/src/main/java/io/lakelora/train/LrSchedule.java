package io.lakelora.train;

import java.util.Locale;

/**
 * Learning-rate schedules with exactly the multipliers of Hugging Face transformers'
 * {@code get_constant_schedule_with_warmup}, {@code get_linear_schedule_with_warmup} and
 * {@code get_cosine_schedule_with_warmup} (num_cycles 0.5). Step {@code s} is 0-based: the first optimizer update uses
 * {@code lr(0)} (0 when there is warmup, as in the HF Trainer).
 */
public final class LrSchedule implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    /** The schedule shape after warmup. */
    public enum Type {
        CONSTANT,
        LINEAR,
        COSINE;

        public static Type parse(String s) {
            for (Type t : values()) if (t.name().equalsIgnoreCase(s)) return t;
            throw new IllegalArgumentException(
                    "schedule.type '" + s + "' unknown: expected constant, linear or cosine");
        }

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final Type type;
    private final double baseLr;
    private final long warmupSteps;
    private final long totalSteps;

    public LrSchedule(Type type, double baseLr, long warmupSteps, long totalSteps) {
        if (!(baseLr > 0) || Double.isInfinite(baseLr)) {
            throw new IllegalArgumentException("optimizer.lr must be > 0, got " + baseLr);
        }
        if (warmupSteps < 0) throw new IllegalArgumentException("warmup steps must be >= 0, got " + warmupSteps);
        if (totalSteps <= 0) throw new IllegalArgumentException("total steps must be > 0, got " + totalSteps);
        this.type = type;
        this.baseLr = baseLr;
        this.warmupSteps = warmupSteps;
        this.totalSteps = totalSteps;
    }

    /** transformers' {@code TrainingArguments.get_warmup_steps}: the steps if > 0, else ceil(total * ratio). */
    public static long warmupSteps(long steps, double ratio, long total) {
        if (steps < 0) throw new IllegalArgumentException("schedule.warmup_steps must be >= 0, got " + steps);
        if (!(ratio >= 0 && ratio <= 1)) {
            throw new IllegalArgumentException("schedule.warmup_ratio must be in [0, 1], got " + ratio);
        }
        return steps > 0 ? steps : (long) Math.ceil(total * ratio);
    }

    public Type type() {
        return type;
    }

    public long warmupSteps() {
        return warmupSteps;
    }

    public long totalSteps() {
        return totalSteps;
    }

    /** The multiplier (LambdaLR's lr_lambda) at 0-based step {@code s}. */
    public double factor(long s) {
        if (s < warmupSteps) return (double) s / Math.max(1, warmupSteps);
        return switch (type) {
            case CONSTANT -> 1.0;
            case LINEAR -> Math.max(0.0, (double) (totalSteps - s) / Math.max(1, totalSteps - warmupSteps));
            case COSINE -> {
                double progress = (double) (s - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
                yield Math.max(0.0, 0.5 * (1.0 + StrictMath.cos(Math.PI * 0.5 * 2.0 * progress)));
            }
        };
    }

    /** The learning rate of the update at 0-based step {@code s}. */
    public double lr(long s) {
        return baseLr * factor(s);
    }
}
