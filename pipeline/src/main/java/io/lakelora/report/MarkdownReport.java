package io.lakelora.report;

import java.util.List;

/**
 * Renders a {@link RunReport} as GitHub-flavoured Markdown: summary and lineage tables, the metrics table, the loss
 * curve image (linked by relative file name), the per-step table, sample generations in fenced blocks and the resolved
 * config as a JSON block.
 */
final class MarkdownReport {
    private MarkdownReport() {}

    static String render(RunReport r, String pngFileName) {
        StringBuilder sb = new StringBuilder();
        sb.append("# ").append(inline(r.title())).append("\n\n");

        sb.append("## Lineage\n\n");
        table(sb, "Item", "Value", ReportFormat.lineageRows(r));

        sb.append("## Metrics\n\n");
        table(sb, "Metric", "Value", ReportFormat.metricRows(r.metrics()));

        sb.append("## Loss curve\n\n");
        sb.append("![Loss curve: train loss per step, eval loss points](")
                .append(pngFileName)
                .append(")\n\n");

        sb.append("## Per-step series\n\n");
        List<RunReport.StepPoint> steps = r.steps();
        if (steps.isEmpty()) {
            sb.append("No steps were recorded.\n\n");
        } else {
            List<Integer> rows = ReportFormat.tableRows(steps);
            if (rows.size() < steps.size()) {
                sb.append("Showing ")
                        .append(rows.size())
                        .append(" of ")
                        .append(steps.size())
                        .append(" steps (evenly spaced, every eval step and the last step); the chart shows all.\n\n");
            }
            sb.append("| Step | Train loss | Eval loss | Learning rate |\n|---:|---:|---:|---:|\n");
            for (int i : rows) {
                RunReport.StepPoint p = steps.get(i);
                sb.append("| ")
                        .append(p.step())
                        .append(" | ")
                        .append(ReportFormat.loss(p.loss()))
                        .append(" | ")
                        .append(ReportFormat.loss(p.evalLoss()))
                        .append(" | ")
                        .append(ReportFormat.lr(p.lr()))
                        .append(" |\n");
            }
            sb.append('\n');
        }

        sb.append("## Sample generations (before / after)\n\n");
        if (r.samples().isEmpty()) sb.append("No samples were generated.\n\n");
        int k = 1;
        for (RunReport.Sample s : r.samples()) {
            sb.append("### Sample ").append(k++).append("\n\n");
            sb.append("Prompt:\n\n");
            fenced(sb, "text", s.prompt());
            sb.append("Base model (before):\n\n");
            fenced(sb, "text", s.baseOutput());
            sb.append("With adapter (after):\n\n");
            fenced(sb, "text", s.adapterOutput());
        }

        sb.append("## Configuration (resolved)\n\n");
        fenced(sb, "json", r.prettyConfig());
        return sb.toString();
    }

    private static void table(StringBuilder sb, String h1, String h2, List<String[]> rows) {
        sb.append("| ").append(h1).append(" | ").append(h2).append(" |\n|---|---|\n");
        for (String[] row : rows)
            sb.append("| ")
                    .append(inline(row[0]))
                    .append(" | ")
                    .append(inline(row[1]))
                    .append(" |\n");
        sb.append('\n');
    }

    /** Text safe inside a table cell or heading: pipes escaped, line breaks flattened. */
    static String inline(String s) {
        return s.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ");
    }

    /** A fenced block whose fence is longer than any backtick run in {@code body}, so the body cannot close it. */
    static void fenced(StringBuilder sb, String lang, String body) {
        int longest = 0;
        int run = 0;
        for (int i = 0; i < body.length(); i++) {
            run = body.charAt(i) == '`' ? run + 1 : 0;
            longest = Math.max(longest, run);
        }
        String fence = "`".repeat(Math.max(3, longest + 1));
        sb.append(fence).append(lang).append('\n').append(body);
        if (!body.endsWith("\n")) sb.append('\n');
        sb.append(fence).append("\n\n");
    }
}
