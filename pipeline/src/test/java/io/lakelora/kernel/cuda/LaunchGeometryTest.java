package io.lakelora.kernel.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Grid and block sizes, and the device arena's pieces. */
class LaunchGeometryTest {
    @Test
    void elementwiseBlocksCoverTheElementsUpTo32PerMultiprocessor() {
        assertEquals(new LaunchGeometry.Launch(Dim3.of(1), Dim3.of(256)), LaunchGeometry.elementwise(0, 132));
        assertEquals(Dim3.of(1), LaunchGeometry.elementwise(256, 132).grid());
        assertEquals(Dim3.of(2), LaunchGeometry.elementwise(257, 132).grid());
        // 4096 x 14336 elements: 229376 blocks wanted, capped at 32 * 132 = 4224 (the grid-stride loop does the rest)
        assertEquals(
                Dim3.of(4224), LaunchGeometry.elementwise(4096L * 14336, 132).grid());
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.elementwise(-1, 132));
    }

    @Test
    void rowBlocksAreAQuarterOfTheWidthInWholeWarps() {
        assertEquals(32, LaunchGeometry.rowBlock(1));
        assertEquals(32, LaunchGeometry.rowBlock(128)); // 32 threads x 4
        assertEquals(64, LaunchGeometry.rowBlock(129)); // 33 threads -> 2 warps
        assertEquals(1024, LaunchGeometry.rowBlock(4096));
        assertEquals(1024, LaunchGeometry.rowBlock(128256)); // at most 1024 threads
        assertEquals(new LaunchGeometry.Launch(Dim3.of(7), Dim3.of(64)), LaunchGeometry.rows(7, 200));
        assertEquals(
                new Dim3(2048, 32, 2),
                LaunchGeometry.attentionRows(2048, 32, 2, 2048).grid());
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.rows(0, 10));
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.attentionRows(8, 70000, 1, 8));
    }

    @Test
    void arenaPiecesAreAlignedAndAFullArenaIsABugReport() {
        try (FakeCudaApi api = new FakeCudaApi(1 << 20)) {
            DeviceArena a = new DeviceArena(api, "step", 4096);
            long p0 = a.take(1), p1 = a.take(300), p2 = a.take(256);
            assertEquals(256, p1 - p0);
            assertEquals(512, p2 - p1, "300 bytes round up to 512");
            long mark = a.mark();
            a.take(1024);
            a.release(mark);
            assertEquals(1024, a.used());
            assertEquals(2048, a.peak());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> a.take(4096));
            assertTrue(e.getMessage().contains("device arena 'step' is full: 1024 of 4096 bytes used"), e.getMessage());
            a.close();
            assertEquals(0, api.allocationCount());
            assertThrows(IllegalStateException.class, () -> a.take(1));
        }
    }
}
