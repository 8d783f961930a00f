package io.lakelora.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class TextNormalizerTest {
    private final TextNormalizer n = TextNormalizer.defaults();

    @Test
    void nfkcFoldsCompatibilityCharacters() {
        // full-width letters, the "fi" ligature, superscript two, non-breaking space (NFKC, Unicode UAX #15)
        assertEquals("ABC file x2 y", n.normalize("ＡＢＣ ﬁle x\u00b2\u00a0y"));
    }

    @Test
    void controlCharactersGoTabAndNewlineStay() {
        assertEquals("a b\nc", n.normalize("a\u0000\t\u200bb\r\nc\u0007")); // the tab is inner whitespace: one space
        TextNormalizer.Options o = new TextNormalizer.Options();
        o.collapseSpaces = false;
        assertEquals("a\tb\nc", new TextNormalizer(o).normalize("a\u0000\t\u200bb\r\nc\u0007"));
        assertEquals("x", n.normalize("\ufeffx")); // byte order mark
    }

    @Test
    void whitespaceRunsCollapseButIndentationIsKept() {
        assertEquals("def f():\n    return 1", n.normalize("def f():   \n    return     1   "));
        TextNormalizer.Options o = new TextNormalizer.Options();
        o.keepIndentation = false;
        assertEquals("def f():\nreturn 1", new TextNormalizer(o).normalize("def f():\n    return 1"));
    }

    @Test
    void blankLineRunsAreLimitedAndBlankEndsDropped() {
        assertEquals("  a\n\nb", n.normalize("\n\n  a\n\n\n\n \t \nb\n\n")); // first line keeps its indentation
        TextNormalizer.Options o = new TextNormalizer.Options();
        o.maxBlankLines = 0;
        assertEquals("a\nb", new TextNormalizer(o).normalize("a\n\n\nb"));
    }

    @Test
    void oldMacLineEndsAndUnicodeSeparatorsBreakLines() {
        assertEquals("a\nb\nc", n.normalize("a\rb\u2028c"));
    }

    @Test
    void nullAndEmpty() {
        assertNull(n.normalize(null));
        assertEquals("", n.normalize(" \n\t "));
    }

    @Test
    void badOptionNamesTheKey() {
        TextNormalizer.Options o = new TextNormalizer.Options();
        o.maxBlankLines = -1;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new TextNormalizer(o));
        assertEquals(true, e.getMessage().contains("normalize.max_blank_lines"), e.getMessage());
    }
}
