package io.lakelora.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * Checks the drawn chart by its pixels: the train line (exact colour, drawn without anti-aliasing) spans the plot
 * and falls for a falling loss, each eval point is one blob of the eval colour above the line where eval > train,
 * text is present around the axes, and the PNG decodes to the requested size.
 */
class LossCurveChartTest {
    private static final int TRAIN = LossCurveChart.TRAIN_COLOR.getRGB();
    private static final int EVAL = LossCurveChart.EVAL_COLOR.getRGB();

    /** Steps 0, 10, .., 400; loss falls linearly 4.0 -> 1.0; eval (= loss + 0.5) at steps 0, 100, .., 400. */
    static List<RunReport.StepPoint> falling() {
        List<RunReport.StepPoint> s = new ArrayList<>();
        for (int i = 0; i <= 40; i++) {
            double loss = 4.0 - 3.0 * i / 40;
            s.add(new RunReport.StepPoint(i * 10L, loss, i % 10 == 0 ? loss + 0.5 : null, 2e-4));
        }
        return s;
    }

    private static boolean inPlot(LossCurveChart.Rendered r, int x, int y) {
        Rectangle l = r.legend();
        boolean inLegend = x >= l.x && x <= l.x + l.width && y >= l.y && y <= l.y + l.height;
        return r.plotArea().contains(x, y) && !inLegend;
    }

    /** Per plot column: the topmost pixel of colour {@code rgb} (outside the legend), or -1. */
    private static int[] topmost(LossCurveChart.Rendered r, int rgb) {
        BufferedImage im = r.image();
        int[] top = new int[im.getWidth()];
        java.util.Arrays.fill(top, -1);
        for (int x = 0; x < im.getWidth(); x++) {
            for (int y = 0; y < im.getHeight(); y++) {
                if (inPlot(r, x, y) && im.getRGB(x, y) == rgb) {
                    top[x] = y;
                    break;
                }
            }
        }
        return top;
    }

    @Test
    void pngDecodesAtRequestedSizeLosslessly() throws Exception {
        LossCurveChart.Rendered r = LossCurveChart.render(falling(), "t", 640, 400);
        BufferedImage back = ImageIO.read(new ByteArrayInputStream(r.png()));
        assertNotNull(back, "ImageIO could not decode the PNG");
        assertEquals(640, back.getWidth());
        assertEquals(400, back.getHeight());
        int train = 0;
        for (int x = 0; x < 640; x++) {
            for (int y = 0; y < 400; y++) {
                assertEquals(r.image().getRGB(x, y), back.getRGB(x, y), "pixel " + x + "," + y);
                if (back.getRGB(x, y) == TRAIN) train++;
            }
        }
        assertTrue(train > 500, "train line pixels in the decoded PNG: " + train);
    }

    @Test
    void trainLineSpansThePlotAndFalls() {
        LossCurveChart.Rendered r = LossCurveChart.render(falling(), "falling", 800, 480);
        int[] top = topmost(r, TRAIN);
        int first = -1, last = -1, covered = 0;
        for (int x = 0; x < top.length; x++) {
            if (top[x] < 0) continue;
            if (first < 0) first = x;
            last = x;
            covered++;
        }
        Rectangle plot = r.plotArea();
        // steps 0..400 on an axis 0..400: the line runs from the left edge to the right edge of the plot
        assertTrue(
                first <= plot.x + 3 && last >= plot.x + plot.width - 3,
                "line spans x " + first + ".." + last + " in plot " + plot);
        assertTrue(covered >= (last - first + 1) * 0.95, "gaps in the line: " + covered + " of " + (last - first + 1));
        // falling loss: the line starts high (small y) on the left and ends low on the right
        assertTrue(top[first] < top[last] - plot.height / 2, "left y " + top[first] + ", right y " + top[last]);
    }

    @Test
    void eachEvalPointIsOneBlobAboveTheLine() {
        LossCurveChart.Rendered r = LossCurveChart.render(falling(), "eval", 800, 480);
        List<double[]> blobs = blobs(r, EVAL);
        assertEquals(5, blobs.size(), "eval points at steps 0, 100, 200, 300, 400");
        int[] trainTop = topmost(r, TRAIN);
        for (int i = 0; i < blobs.size(); i++) {
            double[] c = blobs.get(i);
            if (i > 0) assertTrue(c[0] > blobs.get(i - 1)[0] + 50, "eval points ordered left to right");
            int col = (int) Math.round(c[0]);
            int lineY = lineYNear(trainTop, col);
            assertTrue(
                    c[1] < lineY - 5,
                    "eval " + i + " (loss + 0.5) drawn above the train line: y " + c[1] + " vs line " + lineY);
        }
        // the legend shows both series
        assertTrue(countIn(r.image(), r.legend(), TRAIN) > 10, "train colour in legend");
        assertTrue(countIn(r.image(), r.legend(), EVAL) > 10, "eval colour in legend");
    }

    private static int lineYNear(int[] top, int col) {
        for (int d = 0; d < 12; d++) {
            if (col - d >= 0 && top[col - d] >= 0) return top[col - d];
            if (col + d < top.length && top[col + d] >= 0) return top[col + d];
        }
        throw new AssertionError("no train line near column " + col);
    }

    @Test
    void nonFiniteLossLeavesAGap() {
        List<RunReport.StepPoint> s = new ArrayList<>();
        for (int i = 0; i <= 40; i++) {
            double loss = (i >= 15 && i <= 25) ? Double.NaN : 3.0 - i * 0.05;
            s.add(new RunReport.StepPoint(i * 10L, loss, 1e-4));
        }
        int[] top = topmost(LossCurveChart.render(s, "gap", 800, 480), TRAIN);
        assertTrue(longestGap(top) > 100, "columns without line where steps 150..250 are NaN: " + longestGap(top));
        assertTrue(longestGap(topmost(LossCurveChart.render(falling(), "nogap", 800, 480), TRAIN)) < 3);
    }

    private static int longestGap(int[] top) {
        int first = -1, last = -1;
        for (int x = 0; x < top.length; x++)
            if (top[x] >= 0) {
                if (first < 0) first = x;
                last = x;
            }
        int best = 0, run = 0;
        for (int x = first; x <= last; x++) {
            run = top[x] < 0 ? run + 1 : 0;
            best = Math.max(best, run);
        }
        return best;
    }

    @Test
    void axesCarryTickLabelsAndTitle() {
        LossCurveChart.Rendered r = LossCurveChart.render(falling(), "Title here", 800, 480);
        Rectangle p = r.plotArea();
        BufferedImage im = r.image();
        assertTrue(countDark(im, new Rectangle(0, p.y, p.x - 8, p.height)) > 50, "y tick labels left of the plot");
        assertTrue(countDark(im, new Rectangle(p.x, p.y + p.height + 6, p.width, 20)) > 50, "x tick labels below");
        assertTrue(countDark(im, new Rectangle(0, 0, im.getWidth(), p.y - 2)) > 50, "title above the plot");
    }

    @Test
    void emptyAndSinglePointSeriesStillDraw() {
        LossCurveChart.Rendered empty = LossCurveChart.render(List.of(), "empty", 400, 300);
        assertEquals(0, countPlot(empty, TRAIN), "no data, no line");
        assertTrue(countDark(empty.image(), empty.plotArea()) > 20, "the 'no finite loss values' message");
        LossCurveChart.Rendered one =
                LossCurveChart.render(List.of(new RunReport.StepPoint(7, 2.5, 1e-4)), "one", 400, 300);
        assertEquals(25, countPlot(one, TRAIN), "a lone point is a 5x5 square");
    }

    private static int countPlot(LossCurveChart.Rendered r, int rgb) {
        int n = 0;
        for (int x = 0; x < r.image().getWidth(); x++) {
            for (int y = 0; y < r.image().getHeight(); y++)
                if (inPlot(r, x, y) && r.image().getRGB(x, y) == rgb) n++;
        }
        return n;
    }

    private static int countIn(BufferedImage im, Rectangle box, int rgb) {
        int n = 0;
        for (int x = box.x; x <= box.x + box.width; x++)
            for (int y = box.y; y <= box.y + box.height; y++) {
                if (im.getRGB(x, y) == rgb) n++;
            }
        return n;
    }

    private static int countDark(BufferedImage im, Rectangle box) {
        int n = 0;
        for (int x = box.x; x < box.x + box.width; x++)
            for (int y = box.y; y < box.y + box.height; y++) {
                Color c = new Color(im.getRGB(x, y));
                if (c.getRed() < 110 && c.getGreen() < 110 && c.getBlue() < 110) n++;
            }
        return n;
    }

    /** Centroids (x, y) of 4-connected blobs of colour {@code rgb} inside the plot (outside the legend), left to right. */
    private static List<double[]> blobs(LossCurveChart.Rendered r, int rgb) {
        BufferedImage im = r.image();
        boolean[][] seen = new boolean[im.getWidth()][im.getHeight()];
        List<double[]> out = new ArrayList<>();
        for (int x = 0; x < im.getWidth(); x++) {
            for (int y = 0; y < im.getHeight(); y++) {
                if (seen[x][y] || !inPlot(r, x, y) || im.getRGB(x, y) != rgb) continue;
                double sx = 0, sy = 0;
                int n = 0;
                ArrayDeque<int[]> q = new ArrayDeque<>();
                q.add(new int[] {x, y});
                seen[x][y] = true;
                while (!q.isEmpty()) {
                    int[] p = q.poll();
                    sx += p[0];
                    sy += p[1];
                    n++;
                    int[][] nb = {{p[0] + 1, p[1]}, {p[0] - 1, p[1]}, {p[0], p[1] + 1}, {p[0], p[1] - 1}};
                    for (int[] b : nb) {
                        if (b[0] < 0 || b[1] < 0 || b[0] >= im.getWidth() || b[1] >= im.getHeight()) continue;
                        if (seen[b[0]][b[1]] || !inPlot(r, b[0], b[1]) || im.getRGB(b[0], b[1]) != rgb) continue;
                        seen[b[0]][b[1]] = true;
                        q.add(b);
                    }
                }
                out.add(new double[] {sx / n, sy / n, n});
            }
        }
        out.sort((a, b) -> Double.compare(a[0], b[0]));
        return out;
    }
}
