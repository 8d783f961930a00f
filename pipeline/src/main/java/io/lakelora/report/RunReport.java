package io.lakelora.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The run report written next to every adapter version: what was trained (adapter name and version), from what
 * (lineage: base model and its sha256, dataset table and Delta version, run id), with which resolved config, how it
 * went (metrics and the per-step loss series) and what changed (sample generations of the base model and of the
 * adapter for the same prompts). {@link #writeTo(Path)} writes {@code report.md}, {@code report.html} and
 * {@code loss_curve.png}. Pure data plus rendering; no Spark.
 *
 * @param adapterName adapter name as registered
 * @param version     adapter version in the registry
 * @param configJson  the resolved configuration as JSON text (stored verbatim, shown pretty-printed)
 * @param lineage     where the inputs came from
 * @param metrics     summary metrics of the run
 * @param steps       the per-step series, in increasing step order (may be empty)
 * @param samples     sample generations before/after (may be empty)
 */
public record RunReport(
        String adapterName,
        long version,
        String configJson,
        Lineage lineage,
        Metrics metrics,
        List<StepPoint> steps,
        List<Sample> samples) {

    /** File names inside the report directory. */
    public static final String MARKDOWN = "report.md";

    public static final String HTML = "report.html";
    public static final String LOSS_CURVE = "loss_curve.png";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    /**
     * Where the inputs of the run came from.
     *
     * @param baseModelId     base model id or path (e.g. {@code stories260K-hf})
     * @param baseModelSha256 sha256 of the base model weights, 64 lowercase hex digits
     * @param datasetTable    the training table (e.g. {@code lake.token_blocks} or a path)
     * @param datasetVersion  the Delta version of that table that was read
     * @param runId           the run id the jobs were called with
     */
    public record Lineage(
            String baseModelId, String baseModelSha256, String datasetTable, long datasetVersion, String runId) {
        public Lineage {
            requireText(baseModelId, "lineage.baseModelId");
            requireText(datasetTable, "lineage.datasetTable");
            requireText(runId, "lineage.runId");
            if (baseModelSha256 == null || !SHA256.matcher(baseModelSha256).matches()) {
                throw new IllegalArgumentException(
                        "run report: lineage.baseModelSha256 must be 64 lowercase hex digits," + " found '"
                                + baseModelSha256 + "'. Fix: pass the hex sha256 of the base model weights");
            }
            if (datasetVersion < 0) {
                throw new IllegalArgumentException("run report: lineage.datasetVersion must be >= 0 (a Delta version),"
                        + " found " + datasetVersion);
            }
        }
    }

    /**
     * Summary metrics. Losses are mean token cross-entropies in nats; {@code evalLoss} and {@code perplexity} are NaN
     * when the run had no evaluation set (shown as "n/a").
     */
    public record Metrics(
            double trainLoss,
            double evalLoss,
            double perplexity,
            long tokens,
            long steps,
            double wallSeconds,
            double tokensPerSecond) {
        public Metrics {
            if (tokens < 0 || steps < 0) {
                throw new IllegalArgumentException(
                        "run report: metrics.tokens and metrics.steps must be >= 0, found " + tokens + " and " + steps);
            }
            if (!(wallSeconds >= 0) || !(tokensPerSecond >= 0)) {
                throw new IllegalArgumentException("run report: metrics.wallSeconds and metrics.tokensPerSecond must be"
                        + " finite and >= 0, found " + wallSeconds + " and " + tokensPerSecond);
            }
        }
    }

    /**
     * One optimizer step: mean train loss of the step, eval loss when an evaluation ran at this step ({@code null}
     * otherwise), learning rate used.
     */
    public record StepPoint(long step, double loss, Double evalLoss, double lr) {
        public StepPoint(long step, double loss, double lr) {
            this(step, loss, null, lr);
        }
    }

    /** One prompt with the base model's output and the adapter's output (same decoding settings). */
    public record Sample(String prompt, String baseOutput, String adapterOutput) {
        public Sample {
            Objects.requireNonNull(prompt, "sample prompt");
            Objects.requireNonNull(baseOutput, "sample baseOutput");
            Objects.requireNonNull(adapterOutput, "sample adapterOutput");
        }
    }

    /** Paths of the three files written by {@link #writeTo(Path)}. */
    public record Output(Path markdown, Path html, Path lossCurve) {}

    public RunReport {
        requireText(adapterName, "adapterName");
        if (version < 0) throw new IllegalArgumentException("run report: version must be >= 0, found " + version);
        Objects.requireNonNull(lineage, "lineage");
        Objects.requireNonNull(metrics, "metrics");
        steps = List.copyOf(steps);
        samples = List.copyOf(samples);
        for (int i = 1; i < steps.size(); i++) {
            if (steps.get(i).step() <= steps.get(i - 1).step()) {
                throw new IllegalArgumentException("run report: steps must be strictly increasing, found step "
                        + steps.get(i).step() + " after " + steps.get(i - 1).step() + " at index " + i
                        + ". Fix: pass the series in step order without repeats");
            }
        }
        parseConfig(configJson);
    }

    /** The resolved config, pretty-printed (2-space indent) for the report. */
    public String prettyConfig() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(parseConfig(configJson));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Title shared by the Markdown, the HTML and the chart. */
    public String title() {
        return "Run report: " + adapterName + " v" + version;
    }

    /**
     * Writes {@code report.md}, {@code report.html} (self-contained: the PNG is embedded as a data URI) and
     * {@code loss_curve.png} into {@code dir} (created if missing; existing report files are replaced).
     */
    public Output writeTo(Path dir) {
        try {
            Files.createDirectories(dir);
            byte[] png = LossCurveChart.render(
                            steps,
                            adapterName + " v" + version + " - loss",
                            LossCurveChart.DEFAULT_WIDTH,
                            LossCurveChart.DEFAULT_HEIGHT)
                    .png();
            Path pngFile = dir.resolve(LOSS_CURVE);
            Files.write(pngFile, png);
            Path md = dir.resolve(MARKDOWN);
            Files.writeString(md, MarkdownReport.render(this, LOSS_CURVE));
            Path html = dir.resolve(HTML);
            Files.writeString(html, HtmlReport.render(this, png));
            return new Output(md, html, pngFile);
        } catch (IOException e) {
            throw new UncheckedIOException("writing run report to " + dir, e);
        }
    }

    private static JsonNode parseConfig(String configJson) {
        if (configJson == null) throw new IllegalArgumentException("run report: configJson is null");
        try {
            JsonNode n = JSON.readTree(configJson);
            if (n == null || !n.isObject()) {
                throw new IllegalArgumentException("run report: configJson must be a JSON object, found "
                        + (n == null ? "nothing" : n.getNodeType()) + ". Fix: pass ConfigLoader.toJson(config)");
            }
            return n;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(
                    "run report: configJson is not valid JSON: " + e.getOriginalMessage()
                            + ". Fix: pass ConfigLoader.toJson(config)",
                    e);
        }
    }

    private static void requireText(String s, String name) {
        if (s == null || s.isBlank()) {
            throw new IllegalArgumentException("run report: " + name + " is missing (null or blank)");
        }
    }
}
