package io.lakelora.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunReportTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    private static final String CONFIG =
            "{\"lora\":{\"r\":8,\"alpha\":16.0,\"target_modules\":[\"q_proj\",\"v_proj\"]},\"train\":{\"lr\":2.0E-4}}";

    static RunReport report(List<RunReport.StepPoint> steps) {
        return new RunReport(
                "tiny-stories",
                3,
                CONFIG,
                new RunReport.Lineage("stories260K-hf", SHA, "lake.token_blocks", 7, "run-2024-05-01"),
                new RunReport.Metrics(1.234567, 1.5, 4.481689, 123456, 41, 61.24, 2015.67),
                steps,
                List.of(
                        new RunReport.Sample(
                                "Once upon a time", "there was a <b>cat</b>", "there was a dog | who ```ran```"),
                        new RunReport.Sample("Tell me\na story", "no", "yes")));
    }

    @Test
    void writesMarkdownHtmlAndPng(@TempDir Path dir) throws Exception {
        RunReport.Output out = report(LossCurveChartTest.falling()).writeTo(dir.resolve("v3"));
        assertEquals(dir.resolve("v3/report.md"), out.markdown());
        assertEquals(dir.resolve("v3/report.html"), out.html());
        assertEquals(dir.resolve("v3/loss_curve.png"), out.lossCurve());

        BufferedImage png = ImageIO.read(out.lossCurve().toFile());
        assertNotNull(png, "loss_curve.png decodes");
        assertEquals(LossCurveChart.DEFAULT_WIDTH, png.getWidth());
        assertEquals(LossCurveChart.DEFAULT_HEIGHT, png.getHeight());

        String md = Files.readString(out.markdown());
        // every metric, formatted as documented in ReportFormat (values above: 1.234567, 1.5, 4.481689, ...)
        for (String row : List.of(
                "| Train loss (mean, nats/token) | 1.2346 |",
                "| Eval loss (mean, nats/token) | 1.5000 |",
                "| Eval perplexity | 4.482 |",
                "| Tokens trained | 123456 |",
                "| Optimizer steps | 41 |",
                "| Wall time (s) | 61.2 |",
                "| Throughput (tokens/s) | 2015.7 |")) {
            assertTrue(md.contains(row), "markdown lacks metric row " + row);
        }
        for (String row : List.of(
                "| Adapter | tiny-stories v3 |",
                "| Run id | run-2024-05-01 |",
                "| Base model | stories260K-hf |",
                "| Base model sha256 | " + SHA + " |",
                "| Dataset table | lake.token_blocks |",
                "| Dataset Delta version | 7 |")) {
            assertTrue(md.contains(row), "markdown lacks lineage row " + row);
        }
        assertTrue(md.contains("![Loss curve: train loss per step, eval loss points](loss_curve.png)"));
        // the step table: first, an eval step and the last step (loss 4.0 - 3.0 * i / 40, eval = loss + 0.5)
        assertTrue(md.contains("| 0 | 4.0000 | 4.5000 | 2.00e-04 |"), md);
        assertTrue(md.contains("| 10 | 3.9250 | n/a | 2.00e-04 |"));
        assertTrue(md.contains("| 400 | 1.0000 | 1.5000 | 2.00e-04 |"));
        // the config block parses back to the given config
        Matcher m = Pattern.compile("## Configuration \\(resolved\\)\n\n```json\n(.*?)\n```\n", Pattern.DOTALL)
                .matcher(md);
        assertTrue(m.find(), "config block");
        assertEquals(JSON.readTree(CONFIG), JSON.readTree(m.group(1)));
        assertTrue(m.group(1).contains("\"target_modules\" : [ \"q_proj\", \"v_proj\" ]"), m.group(1));
        // samples: content with ``` gets a longer fence, so it stays inside its block
        assertTrue(md.contains("````text\nthere was a dog | who ```ran```\n````\n"), md);
        assertTrue(md.contains("```text\nTell me\na story\n```\n"));

        String html = Files.readString(out.html());
        assertTrue(html.contains("<td>Eval perplexity</td><td>4.482</td>"));
        assertTrue(html.contains("there was a &lt;b&gt;cat&lt;/b&gt;"), "HTML-escaped sample");
        assertFalse(html.contains("<b>cat"));
        Matcher img = Pattern.compile("src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"")
                .matcher(html);
        assertTrue(img.find(), "embedded PNG");
        assertArrayEquals(
                Files.readAllBytes(out.lossCurve()),
                Base64.getDecoder().decode(img.group(1)),
                "the HTML embeds exactly loss_curve.png");
    }

    @Test
    void missingMetricsShowAsNotAvailable(@TempDir Path dir) throws Exception {
        RunReport r = new RunReport(
                "a",
                1,
                "{}",
                new RunReport.Lineage("m", SHA, "t", 0, "r"),
                new RunReport.Metrics(2.0, Double.NaN, Double.NaN, 10, 1, 0.5, 20.0),
                List.of(),
                List.of());
        String md = Files.readString(r.writeTo(dir).markdown());
        assertTrue(md.contains("| Eval loss (mean, nats/token) | n/a |"));
        assertTrue(md.contains("| Eval perplexity | n/a |"));
        assertTrue(md.contains("No steps were recorded."));
        assertTrue(md.contains("No samples were generated."));
    }

    @Test
    void longSeriesTableIsThinnedButKeepsEvalAndLastSteps() {
        List<RunReport.StepPoint> s = new ArrayList<>();
        for (int i = 1; i <= 1000; i++) s.add(new RunReport.StepPoint(i, 2.0, i == 777 ? 2.5 : null, 1e-4));
        String md = MarkdownReport.render(report(s), "x.png");
        int rows = (int)
                md.lines().filter(l -> l.matches("\\| \\d+ \\| 2\\.0000 \\|.*")).count();
        assertTrue(rows <= ReportFormat.MAX_TABLE_ROWS + 2 && rows >= ReportFormat.MAX_TABLE_ROWS / 2, "rows " + rows);
        assertTrue(md.contains("| 777 | 2.0000 | 2.5000 |"), "eval step kept");
        assertTrue(md.contains("| 1000 | 2.0000 | n/a |"), "last step kept");
        assertTrue(md.contains("Showing " + rows + " of 1000 steps"));
    }

    @Test
    void rejectsBadInputNamingTheField() {
        List<RunReport.StepPoint> unordered =
                List.of(new RunReport.StepPoint(2, 1, 1e-4), new RunReport.StepPoint(2, 1, 1e-4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> report(unordered));
        assertTrue(
                e.getMessage().contains("strictly increasing") && e.getMessage().contains("index 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new RunReport.Lineage("m", "ABC", "t", 0, "r"));
        assertTrue(e.getMessage().contains("baseModelSha256"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> new RunReport(
                        "a",
                        1,
                        "[1,2]",
                        new RunReport.Lineage("m", SHA, "t", 0, "r"),
                        new RunReport.Metrics(1, 1, 1, 1, 1, 1, 1),
                        List.of(),
                        List.of()));
        assertTrue(e.getMessage().contains("configJson must be a JSON object"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> new RunReport(
                        "a",
                        1,
                        "{oops",
                        new RunReport.Lineage("m", SHA, "t", 0, "r"),
                        new RunReport.Metrics(1, 1, 1, 1, 1, 1, 1),
                        List.of(),
                        List.of()));
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new RunReport.Metrics(1, 1, 1, 1, 1, Double.NaN, 1));
        assertTrue(e.getMessage().contains("wallSeconds"), e.getMessage());
    }

    @Test
    void markdownCellsEscapePipesAndNewlines() {
        assertEquals("a \\| b c", MarkdownReport.inline("a | b\nc"));
    }
}
