package io.lakelora.text;

import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Shingles for near-duplicate detection (the sets whose Jaccard similarity MinHash estimates). Text is lower-cased and
 * whitespace runs are collapsed first, so formatting alone never makes two documents differ.
 */
public final class Shingles {
    private Shingles() {}

    public static String canonical(String text) {
        return text.toLowerCase(Locale.ROOT).trim().replaceAll("\\s+", " ");
    }

    /** Character k-grams; a text shorter than k gives itself as the one shingle (empty text: none). */
    public static Set<String> chars(String text, int k) {
        if (k < 1) throw new IllegalArgumentException("near_dedup.shingle_size is " + k + ", expected >= 1");
        String s = canonical(text);
        Set<String> out = new LinkedHashSet<>();
        if (s.isEmpty()) return out;
        if (s.length() <= k) {
            out.add(s);
            return out;
        }
        for (int i = 0; i + k <= s.length(); i++) out.add(s.substring(i, i + k));
        return out;
    }

    /** Word n-grams; fewer than n words give the whole text as the one shingle. */
    public static Set<String> words(String text, int n) {
        if (n < 1) throw new IllegalArgumentException("near_dedup.shingle_size is " + n + ", expected >= 1");
        String s = canonical(text);
        Set<String> out = new LinkedHashSet<>();
        if (s.isEmpty()) return out;
        String[] w = s.split(" ");
        if (w.length <= n) {
            out.add(s);
            return out;
        }
        for (int i = 0; i + n <= w.length; i++) out.add(String.join(" ", java.util.Arrays.copyOfRange(w, i, i + n)));
        return out;
    }

    /** Exact Jaccard similarity |a ∩ b| / |a ∪ b| (1 for two empty sets). */
    public static double jaccard(Set<String> a, Set<String> b) {
        if (a.isEmpty() && b.isEmpty()) return 1.0;
        int inter = 0;
        for (String x : a) if (b.contains(x)) inter++;
        return (double) inter / (a.size() + b.size() - inter);
    }
}
