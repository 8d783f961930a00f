package io.lakelora.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.GraphicsEnvironment;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The project's JVM flags ({@code bin/jvm.args}, also surefire's argLine and Spark's extraJavaOptions) make AWT
 * headless, so the run report's PNG can be drawn on a cluster driver with no display, even where DISPLAY is set to an
 * unreachable X server (without the flag that case fails with "Can't connect to X11 window server").
 */
class HeadlessAwtTest {

    private static Path root() {
        String r = System.getProperty("lakelora.root");
        assertNotNull(r, "system property lakelora.root (set by surefire in the root pom)");
        return Path.of(r);
    }

    @Test
    void jdkHasTheDesktopModule() {
        assertTrue(
                ModuleLayer.boot().findModule("java.desktop").isPresent(),
                "java.desktop module missing: use a full JDK/JRE (not a jlink image without java.desktop)");
    }

    @Test
    void testJvmRunsHeadless() {
        assertEquals("true", System.getProperty("java.awt.headless"), "surefire argLine (lakelora.jvm.flags)");
        assertTrue(GraphicsEnvironment.isHeadless());
    }

    @Test
    void jvmArgsFileDrawsWithABogusDisplay(@TempDir Path dir) throws Exception {
        Path args = root().resolve("bin/jvm.args");
        assertTrue(
                Files.readAllLines(args).contains("-Djava.awt.headless=true"),
                args + " lacks -Djava.awt.headless=true");
        Path png = dir.resolve("probe.png");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(List.of(
                java,
                "@" + args,
                "-Xmx128m",
                "-cp",
                System.getProperty("java.class.path"),
                HeadlessProbe.class.getName(),
                png.toString()));
        pb.environment().put("DISPLAY", ":99");
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe JVM did not finish in 60 s");
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("headless=true"), out);
        BufferedImage im = ImageIO.read(png.toFile());
        assertNotNull(im, "probe PNG decodes");
        assertEquals(320, im.getWidth());
        assertEquals(200, im.getHeight());
    }
}
