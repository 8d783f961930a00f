package io.lakelora.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class QualityFiltersTest {

    private static QualityFilters filters(int min, int max, double rep, double sym, int line) {
        QualityFilters.Options o = new QualityFilters.Options();
        o.minChars = min;
        o.maxChars = max;
        o.maxRepetitionRatio = rep;
        o.maxSymbolRatio = sym;
        o.maxLineChars = line;
        return new QualityFilters(o);
    }

    @Test
    void measuresOnHandCountedTexts() {
        // "a b a b a b": 3-grams (a b a),(b a b),(a b a),(b a b) -> 2 of 4 repeat an earlier one
        assertEquals(0.5, QualityFilters.repetitionRatio("a b a b a b", 3), 1e-12);
        assertEquals(0.0, QualityFilters.repetitionRatio("one two", 3), 1e-12);
        // "ab #$ 12": 6 non-space chars, 2 symbols
        assertEquals(2.0 / 6, QualityFilters.symbolRatio("ab #$ 12"), 1e-12);
        assertEquals(5, QualityFilters.longestLine("abc\nabcde\nab"));
    }

    @Test
    void eachFilterRejectsWithItsReason() {
        QualityFilters f = filters(5, 40, 0.3, 0.25, 20);
        assertEquals(QualityFilters.EMPTY, f.check("  \n"));
        assertEquals(QualityFilters.EMPTY, f.check(null));
        assertEquals(QualityFilters.TOO_SHORT, f.check("abcd"));
        assertEquals(QualityFilters.TOO_LONG, f.check("x".repeat(41)));
        assertEquals(QualityFilters.LONG_LINE, f.check("x".repeat(21)));
        assertEquals(QualityFilters.SYMBOLS, f.check("a {}[]();"));
        assertEquals(QualityFilters.REPETITIVE, f.check("go go go go go go go"));
        assertNull(f.check("A fine short line."));
    }

    @Test
    void defaultsOnlyRejectEmptyText() {
        QualityFilters f = new QualityFilters(new QualityFilters.Options());
        assertNull(f.check("x"));
        assertNull(f.check("$$$$ $$$$ $$$$ $$$$ $$$$ $$$$"));
        assertEquals(QualityFilters.EMPTY, f.check(""));
    }

    @Test
    void impossibleThresholdsAreConfigErrors() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> filters(10, 5, 1, 1, 0));
        assertTrue(e.getMessage().contains("filters.max_chars"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> filters(0, 0, 1.5, 1, 0));
        assertTrue(e.getMessage().contains("filters.max_repetition_ratio"), e.getMessage());
    }
}
