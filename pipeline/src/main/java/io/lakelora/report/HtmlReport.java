package io.lakelora.report;

import java.util.Base64;
import java.util.List;

/**
 * Renders a {@link RunReport} as one self-contained HTML page (inline CSS, the loss curve PNG embedded as a base64
 * data URI), with the same sections and figures as the Markdown rendering.
 */
final class HtmlReport {
    private HtmlReport() {}

    static String render(RunReport r, byte[] png) {
        StringBuilder sb = new StringBuilder(4096 + png.length * 4 / 3);
        sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
                .append(esc(r.title()))
                .append("</title>\n<style>\n")
                .append("body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}\n")
                .append("table{border-collapse:collapse;margin:0 0 1.5em}\n")
                .append("th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}\n")
                .append("td.num{text-align:right;font-variant-numeric:tabular-nums}\n")
                .append("pre{background:#f6f8fa;padding:.6em;overflow-x:auto;white-space:pre-wrap}\n")
                .append("</style>\n</head>\n<body>\n");
        sb.append("<h1>").append(esc(r.title())).append("</h1>\n");

        sb.append("<h2>Lineage</h2>\n");
        table(sb, "Item", "Value", ReportFormat.lineageRows(r));
        sb.append("<h2>Metrics</h2>\n");
        table(sb, "Metric", "Value", ReportFormat.metricRows(r.metrics()));

        sb.append(
                        "<h2>Loss curve</h2>\n<img alt=\"Loss curve: train loss per step, eval loss points\" src=\"data:image/png;base64,")
                .append(Base64.getEncoder().encodeToString(png))
                .append("\">\n");

        sb.append("<h2>Per-step series</h2>\n");
        List<RunReport.StepPoint> steps = r.steps();
        if (steps.isEmpty()) {
            sb.append("<p>No steps were recorded.</p>\n");
        } else {
            List<Integer> rows = ReportFormat.tableRows(steps);
            if (rows.size() < steps.size()) {
                sb.append("<p>Showing ")
                        .append(rows.size())
                        .append(" of ")
                        .append(steps.size())
                        .append(
                                " steps (evenly spaced, every eval step and the last step); the chart shows all.</p>\n");
            }
            sb.append("<table>\n<tr><th>Step</th><th>Train loss</th><th>Eval loss</th><th>Learning rate</th></tr>\n");
            for (int i : rows) {
                RunReport.StepPoint p = steps.get(i);
                sb.append("<tr><td class=\"num\">")
                        .append(p.step())
                        .append("</td><td class=\"num\">")
                        .append(ReportFormat.loss(p.loss()))
                        .append("</td><td class=\"num\">")
                        .append(ReportFormat.loss(p.evalLoss()))
                        .append("</td><td class=\"num\">")
                        .append(ReportFormat.lr(p.lr()))
                        .append("</td></tr>\n");
            }
            sb.append("</table>\n");
        }

        sb.append("<h2>Sample generations (before / after)</h2>\n");
        if (r.samples().isEmpty()) sb.append("<p>No samples were generated.</p>\n");
        int k = 1;
        for (RunReport.Sample s : r.samples()) {
            sb.append("<h3>Sample ")
                    .append(k++)
                    .append("</h3>\n")
                    .append("<p>Prompt:</p>\n<pre>")
                    .append(esc(s.prompt()))
                    .append("</pre>\n")
                    .append("<p>Base model (before):</p>\n<pre>")
                    .append(esc(s.baseOutput()))
                    .append("</pre>\n")
                    .append("<p>With adapter (after):</p>\n<pre>")
                    .append(esc(s.adapterOutput()))
                    .append("</pre>\n");
        }

        sb.append("<h2>Configuration (resolved)</h2>\n<pre>")
                .append(esc(r.prettyConfig()))
                .append("</pre>\n");
        sb.append("</body>\n</html>\n");
        return sb.toString();
    }

    private static void table(StringBuilder sb, String h1, String h2, List<String[]> rows) {
        sb.append("<table>\n<tr><th>")
                .append(esc(h1))
                .append("</th><th>")
                .append(esc(h2))
                .append("</th></tr>\n");
        for (String[] row : rows) {
            sb.append("<tr><td>")
                    .append(esc(row[0]))
                    .append("</td><td>")
                    .append(esc(row[1]))
                    .append("</td></tr>\n");
        }
        sb.append("</table>\n");
    }

    /** HTML text escaping (element content and double-quoted attributes). */
    static String esc(String s) {
        StringBuilder out = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
