package io.lakelora.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link KernelProvider}: forced and automatic choice, thread count, bad property values, warm-up. */
class KernelProviderTest {

    @Test
    void forcedScalarIsTheSpec() {
        Kernels k = KernelProvider.create("scalar", 4);
        assertSame(ScalarKernels.class, k.getClass());
        assertEquals("scalar", k.name());
    }

    @Test
    void vectorIsChosenWhenTheModuleIsLoaded() {
        // surefire runs tests with --add-modules=jdk.incubator.vector on an AVX2/AVX-512 machine
        assertNull(KernelProvider.vectorUnavailableReason());
        Kernels auto = KernelProvider.create("", 3);
        assertTrue(auto instanceof VectorKernels, auto.name());
        assertEquals(3, auto.threads());
        Kernels forced = KernelProvider.create("vector", 2);
        assertTrue(forced instanceof VectorKernels, forced.name());
        assertEquals(2, forced.threads());
    }

    @Test
    void unknownChoiceIsAnError() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> KernelProvider.create("gpu", 1));
        assertTrue(e.getMessage().contains("lakelora.kernels='gpu': expected scalar or vector"), e.getMessage());
    }

    @Test
    void warmUpRunsOnceAndReportsItsDuration() {
        long first = KernelProvider.warmUp();
        assertTrue(first >= 0);
        assertEquals(first, KernelProvider.warmUp(), "the JVM-wide warm-up runs once");
    }

    @Test
    void aLowTrapLimitIsNamedWithItsFix() {
        String hint = KernelProvider.trapLimitHint(100); // HotSpot's default
        assertTrue(
                hint != null && hint.contains("PerMethodTrapLimit=100") && hint.contains("-XX:PerMethodTrapLimit=1000"),
                String.valueOf(hint));
        assertEquals(null, KernelProvider.trapLimitHint(1000));
        assertEquals(null, KernelProvider.trapLimitHint(-1), "unknown (not HotSpot): no note");
        // the test JVM runs with the project's flags (root pom lakelora.jvm.flags = bin/jvm.args)
        assertEquals(1000, KernelProvider.currentTrapLimit());
    }
}
