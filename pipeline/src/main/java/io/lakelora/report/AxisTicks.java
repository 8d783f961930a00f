package io.lakelora.report;

import java.util.Locale;

/**
 * "Nice" axis ticks (steps of 1, 2 or 5 times a power of ten) covering a data range, as in Heckbert's "Nice numbers
 * for graph labels" (Graphics Gems, 1990): the axis runs from the tick at or below the minimum to the tick at or above
 * the maximum.
 *
 * @param first    first tick (axis start)
 * @param step     distance between ticks
 * @param count    number of ticks (axis end is {@code first + (count - 1) * step})
 * @param decimals decimals needed to print the ticks distinctly
 */
record AxisTicks(double first, double step, int count, int decimals) {

    /**
     * Ticks for data in [min, max] with about {@code target} ticks. An empty range is widened around its value;
     * {@code integers} forces a step of at least 1 (for step numbers).
     */
    static AxisTicks of(double min, double max, int target, boolean integers) {
        if (!Double.isFinite(min) || !Double.isFinite(max) || min > max) {
            throw new IllegalArgumentException(
                    "axis range must be finite with min <= max, found [" + min + ", " + max + "]");
        }
        if (target < 2) throw new IllegalArgumentException("target tick count must be >= 2, found " + target);
        if (max - min < 1e-12 * Math.max(1, Math.abs(max))) {
            double pad = integers ? 1 : Math.max(Math.abs(min) * 0.1, 0.5);
            min -= pad;
            max += pad;
        }
        double range = niceNum(max - min, false);
        double step = niceNum(range / (target - 1), true);
        if (integers) step = Math.max(1, step);
        double first = Math.floor(min / step + 1e-9) * step; // epsilon: 1.52 / 0.02 may be 75.999...
        double last = Math.ceil(max / step - 1e-9) * step;
        int count = (int) Math.round((last - first) / step) + 1;
        int decimals = Math.max(0, (int) -Math.floor(Math.log10(step) + 1e-9));
        return new AxisTicks(first, step, count, decimals);
    }

    double last() {
        return first + (count - 1) * step;
    }

    double value(int i) {
        return first + i * step;
    }

    String label(int i) {
        double v = value(i);
        if (Math.abs(v) < step * 1e-9) v = 0; // no "-0.0"
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    /** The nice number near {@code x}: 1, 2, 5 or 10 times a power of ten; rounded or the ceiling. */
    private static double niceNum(double x, boolean round) {
        double exp = Math.floor(Math.log10(x));
        double f = x / Math.pow(10, exp);
        double nf;
        if (round) nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
        else nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
        return nf * Math.pow(10, exp);
    }
}
