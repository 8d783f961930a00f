package io.lakelora.bench;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The peer gets OpenBLAS's AVX-512 kernel exactly when the CPU has the subsets that kernel needs. */
class PeerBlasTest {
    @Test
    void skylakeXNeedsFDqBwVl() {
        assertTrue(
                PeerBlas.hasAvx512ForSkylakeX(List.of("fma", "avx2", "avx512f", "avx512dq", "avx512bw", "avx512vl")));
        // AVX2-only (Zen 3, many Intel parts) and AVX-512F without BW/VL (Knights Landing) keep OpenBLAS's own choice
        assertFalse(PeerBlas.hasAvx512ForSkylakeX(List.of("fma", "avx2")));
        assertFalse(PeerBlas.hasAvx512ForSkylakeX(List.of("avx2", "avx512f", "avx512cd", "avx512er")));
    }
}
