package io.lakelora.model.nn;

import io.lakelora.kernel.Kernels;

/**
 * Splits row- or element-wise layer work over the kernel threads ({@link Kernels#parallelFor}). Every row (element)
 * is computed by the same code whatever the split, so results do not depend on the thread count; element ranges are
 * cut at multiples of {@link #ALIGN} so that vector loops and their scalar tails cover the same elements for any split.
 */
public final class Par {
    private Par() {}

    /** Element ranges start at multiples of this (a multiple of every vector length used). */
    public static final int ALIGN = 64;

    /** A half-open range [from, to). */
    @FunctionalInterface
    public interface Range {
        void run(int from, int to);
    }

    /** Runs {@code body} over [0, n) rows, split into at most threads() ranges of at least {@code minRows} rows. */
    public static void rows(Kernels kern, int n, int minRows, Range body) {
        int tasks = (int) Math.min(kern.threads(), Math.max(1, n / Math.max(1, minRows)));
        if (tasks <= 1) {
            body.run(0, n);
            return;
        }
        kern.parallelFor(tasks, (t, w) -> body.run((int) ((long) n * t / tasks), (int) ((long) n * (t + 1) / tasks)));
    }

    /** Runs {@code body} over [0, n) elements, ranges cut at multiples of {@link #ALIGN}, at least 16K elements each. */
    public static void elements(Kernels kern, int n, Range body) {
        int units = (n + ALIGN - 1) / ALIGN;
        int tasks = (int) Math.min(kern.threads(), Math.max(1, n / (1 << 14)));
        if (tasks <= 1) {
            body.run(0, n);
            return;
        }
        kern.parallelFor(
                tasks,
                (t, w) -> body.run(
                        Math.min(n, (int) ((long) units * t / tasks) * ALIGN),
                        Math.min(n, (int) ((long) units * (t + 1) / tasks) * ALIGN)));
    }
}
