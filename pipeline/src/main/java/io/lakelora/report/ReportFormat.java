package io.lakelora.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Number formats and row selection shared by the Markdown and HTML renderings, so both show the same figures:
 * losses with 4 decimals, perplexity with 3, seconds and tokens/s with 1, learning rates in scientific notation with 3
 * significant digits, counts as plain integers; NaN or missing values as "n/a". Locale-independent.
 */
final class ReportFormat {
    /** At most this many rows of the per-step series go into the tables (the chart always shows every step). */
    static final int MAX_TABLE_ROWS = 60;

    private ReportFormat() {}

    static String loss(double v) {
        return fixed(v, 4);
    }

    static String loss(Double v) {
        return v == null ? "n/a" : loss(v.doubleValue());
    }

    static String perplexity(double v) {
        return fixed(v, 3);
    }

    static String seconds(double v) {
        return fixed(v, 1);
    }

    static String rate(double v) {
        return fixed(v, 1);
    }

    static String lr(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.2e", v) : "n/a";
    }

    static String count(long v) {
        return Long.toString(v);
    }

    private static String fixed(double v, int decimals) {
        if (Double.isNaN(v)) return "n/a";
        if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    /** The metric rows (label, value), in display order. */
    static List<String[]> metricRows(RunReport.Metrics m) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"Train loss (mean, nats/token)", loss(m.trainLoss())});
        rows.add(new String[] {"Eval loss (mean, nats/token)", loss(m.evalLoss())});
        rows.add(new String[] {"Eval perplexity", perplexity(m.perplexity())});
        rows.add(new String[] {"Tokens trained", count(m.tokens())});
        rows.add(new String[] {"Optimizer steps", count(m.steps())});
        rows.add(new String[] {"Wall time (s)", seconds(m.wallSeconds())});
        rows.add(new String[] {"Throughput (tokens/s)", rate(m.tokensPerSecond())});
        return rows;
    }

    /** The lineage rows (label, value), in display order. */
    static List<String[]> lineageRows(RunReport r) {
        RunReport.Lineage l = r.lineage();
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"Adapter", r.adapterName() + " v" + r.version()});
        rows.add(new String[] {"Run id", l.runId()});
        rows.add(new String[] {"Base model", l.baseModelId()});
        rows.add(new String[] {"Base model sha256", l.baseModelSha256()});
        rows.add(new String[] {"Dataset table", l.datasetTable()});
        rows.add(new String[] {"Dataset Delta version", Long.toString(l.datasetVersion())});
        return rows;
    }

    /**
     * Indices of the step rows to tabulate: all of them when there are at most {@link #MAX_TABLE_ROWS}; otherwise
     * evenly spaced rows plus every row with an eval loss and the last row, in order.
     */
    static List<Integer> tableRows(List<RunReport.StepPoint> steps) {
        int n = steps.size();
        List<Integer> out = new ArrayList<>();
        if (n <= MAX_TABLE_ROWS) {
            for (int i = 0; i < n; i++) out.add(i);
            return out;
        }
        int stride = (n + MAX_TABLE_ROWS - 1) / MAX_TABLE_ROWS;
        for (int i = 0; i < n; i++) {
            if (i % stride == 0 || i == n - 1 || steps.get(i).evalLoss() != null) out.add(i);
        }
        return out;
    }
}
