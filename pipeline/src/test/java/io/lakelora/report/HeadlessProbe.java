package io.lakelora.report;

import java.nio.file.Files;
import java.nio.file.Path;

/** Child-process entry for {@link HeadlessAwtTest}: draws a loss curve and writes it to {@code args[0]}. */
public final class HeadlessProbe {
    private HeadlessProbe() {}

    public static void main(String[] args) throws Exception {
        byte[] png = LossCurveChart.render(LossCurveChartTest.falling(), "headless probe", 320, 200)
                .png();
        Files.write(Path.of(args[0]), png);
        System.out.println("headless=" + java.awt.GraphicsEnvironment.isHeadless());
    }
}
