package io.lakelora.text;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ShinglesTest {
    @Test
    void charShinglesOfHandCheckedText() {
        assertEquals(List.of("ab c", "b cd"), List.copyOf(Shingles.chars("AB   cd", 4)));
        assertEquals(Set.of("ab"), Shingles.chars("ab", 5));
        assertEquals(Set.of(), Shingles.chars("  ", 5));
    }

    @Test
    void wordShinglesAndJaccard() {
        Set<String> a = Shingles.words("the cat sat on the mat", 2); // the cat, cat sat, sat on, on the, the mat
        Set<String> b = Shingles.words("the cat sat on a mat", 2); //  the cat, cat sat, sat on, on a, a mat
        assertEquals(5, a.size());
        assertEquals(3.0 / 7.0, Shingles.jaccard(a, b), 1e-12);
    }
}
