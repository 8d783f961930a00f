package io.lakelora.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Expected ticks worked out by hand from Heckbert's nice-number rule (steps 1, 2, 5 x 10^k). */
class AxisTicksTest {

    private static List<String> labels(AxisTicks t) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < t.count(); i++) out.add(t.label(i));
        return out;
    }

    @Test
    void lossRangeGetsUnitTicksFromZero() {
        // range 3.27 -> nice 5; step 5/5 = 1; floor(0.93) = 0, ceil(4.2) = 5
        assertEquals(List.of("0", "1", "2", "3", "4", "5"), labels(AxisTicks.of(0.93, 4.2, 6, false)));
    }

    @Test
    void stepRangeGetsHundreds() {
        // range 400 -> nice 500; step 100
        assertEquals(List.of("0", "100", "200", "300", "400"), labels(AxisTicks.of(0, 400, 6, true)));
    }

    @Test
    void narrowRangeGetsTwoDecimals() {
        // range 0.09 -> nice 0.1; step 0.02; 1.52 / 0.02 = 76 exactly in decimal (not 75.99 in binary)
        assertEquals(
                List.of("1.52", "1.54", "1.56", "1.58", "1.60", "1.62"), labels(AxisTicks.of(1.52, 1.61, 6, false)));
    }

    @Test
    void emptyRangeIsWidenedAroundTheValue() {
        // 2.0 +- 0.5 -> [1.5, 2.5]; range 1; step 0.2; 1.4 .. 2.6
        assertEquals(List.of("1.4", "1.6", "1.8", "2.0", "2.2", "2.4", "2.6"), labels(AxisTicks.of(2, 2, 6, false)));
        // one step number: 5 +- 1; step would be 0.5, forced to 1 for integers
        assertEquals(List.of("4", "5", "6"), labels(AxisTicks.of(5, 5, 6, true)));
    }

    @Test
    void negativeValuesPrintWithoutMinusZero() {
        // range 2 -> nice 2; step 0.4 -> 0.5; -1 .. 1
        assertEquals(List.of("-1.0", "-0.5", "0.0", "0.5", "1.0"), labels(AxisTicks.of(-1, 1, 6, false)));
    }

    @Test
    void rejectsNonFiniteRange() {
        assertThrows(IllegalArgumentException.class, () -> AxisTicks.of(Double.NaN, 1, 6, false));
        assertThrows(IllegalArgumentException.class, () -> AxisTicks.of(2, 1, 6, false));
    }
}
