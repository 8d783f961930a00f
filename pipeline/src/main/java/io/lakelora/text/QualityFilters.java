package io.lakelora.text;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.Serializable;
import java.util.HashSet;
import java.util.Set;

/**
 * Document quality filters applied to normalized text (YAML section {@code filters}). {@link #check} returns the
 * quarantine reason of the first failing filter, or null when the text passes. The measures are defined here once:
 * <ul>
 *   <li>{@code chars}: UTF-16 length of the normalized text;</li>
 *   <li>{@link #repetitionRatio}: share of word {@code repetition_ngram}-grams that repeat an earlier n-gram of the
 *       same document (0 = all distinct; a line pasted 10 times scores about 0.9), in the spirit of Gopher's
 *       duplicate-n-gram rules;</li>
 *   <li>{@link #symbolRatio}: share of non-whitespace characters that are neither letters, digits nor marks;</li>
 *   <li>{@code line length}: longest line in characters.</li>
 * </ul>
 */
public final class QualityFilters implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Quarantine reasons produced here. */
    public static final String EMPTY = "empty_text";

    public static final String TOO_SHORT = "too_short";
    public static final String TOO_LONG = "too_long";
    public static final String REPETITIVE = "repetitive";
    public static final String SYMBOLS = "too_many_symbols";
    public static final String LONG_LINE = "line_too_long";

    /** Thresholds; a value of 0 (or 1.0 for ratios) disables that filter. */
    public static final class Options implements Serializable {
        private static final long serialVersionUID = 1L;

        @JsonProperty("min_chars")
        public int minChars = 1;

        @JsonProperty("max_chars")
        public int maxChars = 0;

        @JsonProperty("max_repetition_ratio")
        public double maxRepetitionRatio = 1.0;

        @JsonProperty("repetition_ngram")
        public int repetitionNgram = 3;

        @JsonProperty("max_symbol_ratio")
        public double maxSymbolRatio = 1.0;

        @JsonProperty("max_line_chars")
        public int maxLineChars = 0;

        public void validate(String prefix) {
            nonNegative(prefix + ".min_chars", minChars);
            nonNegative(prefix + ".max_chars", maxChars);
            nonNegative(prefix + ".max_line_chars", maxLineChars);
            if (repetitionNgram < 1) {
                throw new IllegalArgumentException("config key '" + prefix + ".repetition_ngram' is " + repetitionNgram
                        + ", expected >= 1. Fix: give the n-gram size in words, e.g. 3");
            }
            ratio(prefix + ".max_repetition_ratio", maxRepetitionRatio);
            ratio(prefix + ".max_symbol_ratio", maxSymbolRatio);
            if (maxChars > 0 && maxChars < minChars) {
                throw new IllegalArgumentException("config keys '" + prefix + ".min_chars' (" + minChars + ") and '"
                        + prefix + ".max_chars' (" + maxChars + ") admit no text. Fix: make max_chars >= min_chars");
            }
        }

        private static void nonNegative(String key, int v) {
            if (v < 0) {
                throw new IllegalArgumentException("config key '" + key + "' is " + v + ", expected >= 0 (0 disables)");
            }
        }

        private static void ratio(String key, double v) {
            if (!(v >= 0 && v <= 1)) {
                throw new IllegalArgumentException(
                        "config key '" + key + "' is " + v + ", expected a ratio in [0, 1] (1 disables)");
            }
        }
    }

    private final Options o;

    public QualityFilters(Options options) {
        options.validate("filters");
        this.o = options;
    }

    /** The first failing filter's reason (one of the constants above), or null if the text passes. */
    public String check(String text) {
        if (text == null || text.isBlank()) return EMPTY;
        int n = text.length();
        if (n < o.minChars) return TOO_SHORT;
        if (o.maxChars > 0 && n > o.maxChars) return TOO_LONG;
        if (o.maxLineChars > 0 && longestLine(text) > o.maxLineChars) return LONG_LINE;
        if (o.maxSymbolRatio < 1.0 && symbolRatio(text) > o.maxSymbolRatio) return SYMBOLS;
        if (o.maxRepetitionRatio < 1.0 && repetitionRatio(text, o.repetitionNgram) > o.maxRepetitionRatio) {
            return REPETITIVE;
        }
        return null;
    }

    public static int longestLine(String text) {
        int best = 0;
        int start = 0;
        for (int i = 0; i <= text.length(); i++) {
            if (i == text.length() || text.charAt(i) == '\n') {
                best = Math.max(best, i - start);
                start = i + 1;
            }
        }
        return best;
    }

    public static double symbolRatio(String text) {
        int nonSpace = 0;
        int symbols = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (Character.isWhitespace(cp)) continue;
            nonSpace++;
            int t = Character.getType(cp);
            boolean mark = t == Character.NON_SPACING_MARK
                    || t == Character.COMBINING_SPACING_MARK
                    || t == Character.ENCLOSING_MARK;
            if (!Character.isLetterOrDigit(cp) && !mark) symbols++;
        }
        return nonSpace == 0 ? 0.0 : (double) symbols / nonSpace;
    }

    /** Share of word n-grams that repeat an earlier one; 0 when the text has fewer than n words. */
    public static double repetitionRatio(String text, int n) {
        String[] words = text.toLowerCase(java.util.Locale.ROOT).trim().split("\\s+");
        int grams = words.length - n + 1;
        if (words.length == 0 || words[0].isEmpty() || grams <= 0) return 0.0;
        Set<String> seen = new HashSet<>(grams * 2);
        int repeats = 0;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < grams; i++) {
            sb.setLength(0);
            for (int j = 0; j < n; j++) sb.append(words[i + j]).append('\u0001');
            if (!seen.add(sb.toString())) repeats++;
        }
        return (double) repeats / grams;
    }
}
