package io.lakelora.text;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.Serializable;
import java.text.Normalizer;

/**
 * Canonical text for training and deduplication: Unicode NFKC, line endings to {@code \n}, control characters
 * removed (tab and newline kept), horizontal whitespace runs collapsed (leading indentation optionally kept), trailing
 * spaces cut, runs of blank lines limited, leading and trailing blank lines dropped. Pure and thread-safe; the same function backs the
 * {@code normalize_text} SQL UDF and job 01.
 */
public final class TextNormalizer implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Settings (YAML section {@code normalize}); defaults are what job 01 uses. */
    public static final class Options implements Serializable {
        private static final long serialVersionUID = 1L;
        /** Apply Unicode NFKC (compatibility composition: full-width letters, ligatures, superscripts). */
        @JsonProperty("nfkc")
        public boolean nfkc = true;
        /** Remove control and format characters except tab and newline (CR, NUL, zero-width, BOM, ...). */
        @JsonProperty("strip_control")
        public boolean stripControl = true;
        /** Collapse runs of spaces/tabs inside a line to one space. */
        @JsonProperty("collapse_spaces")
        public boolean collapseSpaces = true;
        /** With {@code collapse_spaces}: leave a line's leading whitespace (code indentation) as it is. */
        @JsonProperty("keep_indentation")
        public boolean keepIndentation = true;
        /** At most this many consecutive empty lines (0 removes empty lines). */
        @JsonProperty("max_blank_lines")
        public int maxBlankLines = 1;

        public void validate(String prefix) {
            if (maxBlankLines < 0) {
                throw new IllegalArgumentException("config key '" + prefix + ".max_blank_lines' is " + maxBlankLines
                        + ", expected >= 0. Fix: give 0 (no blank lines) or more");
            }
        }
    }

    private final Options options;

    public TextNormalizer(Options options) {
        options.validate("normalize");
        this.options = options;
    }

    /** With the default options. */
    public static TextNormalizer defaults() {
        return new TextNormalizer(new Options());
    }

    /** Normalized text; null stays null. */
    public String normalize(String text) {
        if (text == null) return null;
        String s = options.nfkc ? Normalizer.normalize(text, Normalizer.Form.NFKC) : text;
        StringBuilder out = new StringBuilder(s.length());
        StringBuilder line = new StringBuilder();
        int blankRun = 0;
        boolean anyLine = false;
        int n = s.length();
        for (int i = 0; i <= n; i++) {
            char c = i < n ? s.charAt(i) : '\n';
            boolean eol = c == '\n' || c == '\r' || c == '\u2028' || c == '\u2029' || c == '\u0085';
            if (!eol) {
                if (options.stripControl && isControl(c) && c != '\t') continue;
                line.append(c);
                continue;
            }
            if (c == '\r' && i + 1 < n && s.charAt(i + 1) == '\n') i++; // CRLF is one line end
            String l = cleanLine(line);
            line.setLength(0);
            if (l.isEmpty()) {
                if (anyLine) blankRun++;
                continue;
            }
            if (anyLine) {
                out.append('\n');
                for (int b = 0; b < Math.min(blankRun, options.maxBlankLines); b++) out.append('\n');
            }
            out.append(l);
            anyLine = true;
            blankRun = 0;
        }
        return out.toString();
    }

    private String cleanLine(CharSequence line) {
        int end = line.length();
        while (end > 0 && isHorizontalSpace(line.charAt(end - 1))) end--;
        if (!options.collapseSpaces) return line.subSequence(0, end).toString();
        StringBuilder sb = new StringBuilder(end);
        int i = 0;
        if (options.keepIndentation) {
            while (i < end && isHorizontalSpace(line.charAt(i))) sb.append(line.charAt(i++));
        } else {
            while (i < end && isHorizontalSpace(line.charAt(i))) i++;
        }
        boolean inSpace = false;
        for (; i < end; i++) {
            char c = line.charAt(i);
            if (isHorizontalSpace(c)) {
                inSpace = true;
                continue;
            }
            if (inSpace) sb.append(' ');
            inSpace = false;
            sb.append(c);
        }
        return sb.toString();
    }

    /** Space, tab and the Unicode space separators (NBSP, en/em spaces, ...). */
    static boolean isHorizontalSpace(char c) {
        return c == ' ' || c == '\t' || Character.getType(c) == Character.SPACE_SEPARATOR;
    }

    /** C0/C1 controls and invisible format characters (zero-width space/joiners, BOM, bidi marks). */
    static boolean isControl(char c) {
        int t = Character.getType(c);
        return t == Character.CONTROL || (t == Character.FORMAT && c != '\u200d') || c == '\u200b';
    }
}
