package io.lakelora.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * Draws the loss curve of a run with java.awt into a PNG, headless ({@code -Djava.awt.headless=true}, in
 * {@code bin/jvm.args}): the train loss per step as a line, eval losses as points, axes with tick labels, a title and a
 * legend. Data lines are drawn without anti-aliasing so that they keep their exact colours ({@link #TRAIN_COLOR},
 * {@link #EVAL_COLOR}); text is anti-aliased. Non-finite losses leave a gap in the line.
 */
public final class LossCurveChart {
    public static final int DEFAULT_WIDTH = 800;
    public static final int DEFAULT_HEIGHT = 480;
    /** Train loss line colour. */
    public static final Color TRAIN_COLOR = new Color(0x1f77b4);
    /** Eval loss point colour. */
    public static final Color EVAL_COLOR = new Color(0xff7f0e);

    private static final int LEFT = 76;
    private static final int RIGHT = 24;
    private static final int TOP = 44;
    private static final int BOTTOM = 58;
    private static final Color GRID = new Color(0xe6e6e6);
    private static final Color AXIS = new Color(0x333333);

    private LossCurveChart() {}

    /**
     * A drawn chart: the image, the plot area (inside the axes) and the legend box, in pixels.
     */
    public record Rendered(BufferedImage image, Rectangle plotArea, Rectangle legend) {
        /** The image encoded as PNG. */
        public byte[] png() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try {
                if (!ImageIO.write(image, "png", out)) throw new IllegalStateException("no PNG writer in this JDK");
            } catch (IOException e) {
                throw new UncheckedIOException("encoding the loss curve PNG", e);
            }
            return out.toByteArray();
        }
    }

    /** Draws the chart of {@code steps} ({@code width} x {@code height} pixels, at least 240 x 160). */
    public static Rendered render(List<RunReport.StepPoint> steps, String title, int width, int height) {
        if (width < 240 || height < 160) {
            throw new IllegalArgumentException(
                    "loss curve size must be at least 240x160, found " + width + "x" + height);
        }
        double minX = Double.POSITIVE_INFINITY, maxX = Double.NEGATIVE_INFINITY;
        double minY = Double.POSITIVE_INFINITY, maxY = Double.NEGATIVE_INFINITY;
        boolean anyEval = false;
        for (RunReport.StepPoint p : steps) {
            boolean used = false;
            if (Double.isFinite(p.loss())) {
                minY = Math.min(minY, p.loss());
                maxY = Math.max(maxY, p.loss());
                used = true;
            }
            if (p.evalLoss() != null && Double.isFinite(p.evalLoss())) {
                minY = Math.min(minY, p.evalLoss());
                maxY = Math.max(maxY, p.evalLoss());
                used = true;
                anyEval = true;
            }
            if (used) {
                minX = Math.min(minX, p.step());
                maxX = Math.max(maxX, p.step());
            }
        }
        boolean empty = minX > maxX;
        AxisTicks xt = empty ? AxisTicks.of(0, 1, 6, true) : AxisTicks.of(minX, maxX, 6, true);
        AxisTicks yt = empty ? AxisTicks.of(0, 1, 6, false) : AxisTicks.of(minY, maxY, 6, false);

        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_OFF);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            Rectangle plot = new Rectangle(LEFT, TOP, width - LEFT - RIGHT, height - TOP - BOTTOM);
            Mapper m = new Mapper(plot, xt.first(), xt.last(), yt.first(), yt.last());

            drawAxes(g, plot, m, xt, yt);
            drawTitles(g, plot, title, width, height);

            g.setClip(plot.x, plot.y, plot.width + 1, plot.height + 1);
            if (empty) {
                g.setColor(AXIS);
                centered(g, "no finite loss values recorded", plot.x + plot.width / 2, plot.y + plot.height / 2);
            } else {
                drawTrain(g, steps, m);
                drawEval(g, steps, m);
            }
            g.setClip(null);
            Rectangle legend = drawLegend(g, plot, anyEval);
            return new Rendered(img, plot, legend);
        } finally {
            g.dispose();
        }
    }

    /** Data -> pixel coordinates over the plot area. */
    private record Mapper(Rectangle plot, double x0, double x1, double y0, double y1) {
        double px(double x) {
            return plot.x + (x - x0) / (x1 - x0) * plot.width;
        }

        double py(double y) {
            return plot.y + plot.height - (y - y0) / (y1 - y0) * plot.height;
        }
    }

    private static void drawAxes(Graphics2D g, Rectangle plot, Mapper m, AxisTicks xt, AxisTicks yt) {
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        FontMetrics fm = g.getFontMetrics();
        g.setStroke(new BasicStroke(1f));
        for (int i = 0; i < yt.count(); i++) {
            int y = (int) Math.round(m.py(yt.value(i)));
            g.setColor(GRID);
            g.drawLine(plot.x + 1, y, plot.x + plot.width, y);
            g.setColor(AXIS);
            g.drawLine(plot.x - 5, y, plot.x, y);
            String s = yt.label(i);
            g.drawString(s, plot.x - 8 - fm.stringWidth(s), y + fm.getAscent() / 2 - 1);
        }
        for (int i = 0; i < xt.count(); i++) {
            int x = (int) Math.round(m.px(xt.value(i)));
            g.setColor(GRID);
            g.drawLine(x, plot.y, x, plot.y + plot.height - 1);
            g.setColor(AXIS);
            g.drawLine(x, plot.y + plot.height, x, plot.y + plot.height + 5);
            String s = xt.label(i);
            g.drawString(s, x - fm.stringWidth(s) / 2, plot.y + plot.height + 8 + fm.getAscent());
        }
        g.setColor(AXIS);
        g.drawLine(plot.x, plot.y, plot.x, plot.y + plot.height);
        g.drawLine(plot.x, plot.y + plot.height, plot.x + plot.width, plot.y + plot.height);
    }

    private static void drawTitles(Graphics2D g, Rectangle plot, String title, int width, int height) {
        g.setColor(AXIS);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        centered(g, title, width / 2, TOP / 2);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        centered(g, "step", plot.x + plot.width / 2, height - 12);
        AffineTransform saved = g.getTransform();
        g.rotate(-Math.PI / 2);
        // rotated frame: x' = -y, y' = x
        centered(g, "loss (nats/token)", -(plot.y + plot.height / 2), 16);
        g.setTransform(saved);
    }

    private static void drawTrain(Graphics2D g, List<RunReport.StepPoint> steps, Mapper m) {
        g.setColor(TRAIN_COLOR);
        g.setStroke(new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
        Path2D.Double path = new Path2D.Double();
        int run = 0;
        for (RunReport.StepPoint p : steps) {
            if (!Double.isFinite(p.loss())) {
                flush(g, path, run);
                path = new Path2D.Double();
                run = 0;
                continue;
            }
            double x = m.px(p.step()), y = m.py(p.loss());
            if (run == 0) path.moveTo(x, y);
            else path.lineTo(x, y);
            run++;
        }
        flush(g, path, run);
    }

    /** Draws a finished line segment; a lone point gets a small square so that it is visible. */
    private static void flush(Graphics2D g, Path2D.Double path, int points) {
        if (points == 0) return;
        if (points == 1) {
            double x = path.getCurrentPoint().getX(), y = path.getCurrentPoint().getY();
            g.fillRect((int) Math.round(x) - 2, (int) Math.round(y) - 2, 5, 5);
        } else {
            g.draw(path);
        }
    }

    private static void drawEval(Graphics2D g, List<RunReport.StepPoint> steps, Mapper m) {
        g.setColor(EVAL_COLOR);
        for (RunReport.StepPoint p : steps) {
            if (p.evalLoss() == null || !Double.isFinite(p.evalLoss())) continue;
            g.fill(new Ellipse2D.Double(m.px(p.step()) - 4.5, m.py(p.evalLoss()) - 4.5, 9, 9));
        }
    }

    private static Rectangle drawLegend(Graphics2D g, Rectangle plot, boolean withEval) {
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        FontMetrics fm = g.getFontMetrics();
        int rowH = fm.getHeight() + 4;
        int w = 36 + Math.max(fm.stringWidth("train loss"), fm.stringWidth("eval loss")) + 10;
        int h = rowH * (withEval ? 2 : 1) + 8;
        Rectangle box = new Rectangle(plot.x + plot.width - w - 10, plot.y + 10, w, h);
        g.setColor(Color.WHITE);
        g.fillRect(box.x, box.y, box.width, box.height);
        g.setColor(new Color(0xbbbbbb));
        g.drawRect(box.x, box.y, box.width, box.height);
        int cy = box.y + 4 + rowH / 2;
        g.setColor(TRAIN_COLOR);
        g.setStroke(new BasicStroke(2f));
        g.drawLine(box.x + 8, cy, box.x + 28, cy);
        g.setColor(AXIS);
        g.drawString("train loss", box.x + 36, cy + fm.getAscent() / 2 - 1);
        if (withEval) {
            cy += rowH;
            g.setColor(EVAL_COLOR);
            g.fill(new Ellipse2D.Double(box.x + 18 - 4.5, cy - 4.5, 9, 9));
            g.setColor(AXIS);
            g.drawString("eval loss", box.x + 36, cy + fm.getAscent() / 2 - 1);
        }
        return box;
    }

    private static void centered(Graphics2D g, String s, int cx, int cy) {
        FontMetrics fm = g.getFontMetrics();
        g.drawString(s, cx - fm.stringWidth(s) / 2, cy + fm.getAscent() / 2 - 1);
    }
}
