package io.lakelora.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Measures the fp32 FMA throughput of one core through the Vector API: a register-only loop of independent FMA
 * chains (enough to cover FMA latency times the FMA ports), no memory traffic. The ceiling a GEMM kernel on the same
 * vector width is judged against.
 */
public final class FmaPeak {
    private FmaPeak() {}

    private static final int CHAINS = 16;
    private static final int ITERS = 1 << 16;

    /**
     * Best GFLOP/s over repeated runs during about {@code millis} ms on the calling thread.
     *
     * @param bits 128, 256 or 512
     */
    public static double gflops(int bits, long millis) {
        if (bits != 128 && bits != 256 && bits != 512) {
            throw new IllegalArgumentException("FmaPeak: bits must be 128, 256 or 512, got " + bits);
        }
        int lanes = bits / 32;
        double best = 0;
        float sink = 0;
        // warm-up with short runs until the JIT has compiled the loop (interpreted Vector API code is ~1000x slower,
        // and a cold, loaded JVM would otherwise measure the interpreter)
        long warm = System.nanoTime() + millis * 500_000L;
        for (int i = 0; i < 2000 || System.nanoTime() < warm; i++) {
            sink += bits == 512 ? run512(64) : bits == 256 ? run256(64) : run128(64);
            if (i > 200_000) break;
        }
        long deadline = System.nanoTime() + millis * 1_000_000L;
        do {
            long t0 = System.nanoTime();
            sink += bits == 512 ? run512(ITERS) : bits == 256 ? run256(ITERS) : run128(ITERS);
            long dt = System.nanoTime() - t0;
            double flops = 2.0 * CHAINS * lanes * ITERS;
            best = Math.max(best, flops / dt);
        } while (System.nanoTime() < deadline);
        if (sink == 42.4242f) System.err.print(""); // keep the result live
        return best;
    }

    // one method per width: the species must be a constant for C2 to emit vector instructions
    private static float run512(int iters) {
        VectorSpecies<Float> s = FloatVector.SPECIES_512;
        FloatVector m = FloatVector.broadcast(s, 0.999999f);
        FloatVector d = FloatVector.broadcast(s, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(s, 1f), a1 = a0.add(1f), a2 = a0.add(2f), a3 = a0.add(3f);
        FloatVector a4 = a0.add(4f), a5 = a0.add(5f), a6 = a0.add(6f), a7 = a0.add(7f);
        FloatVector a8 = a0.add(8f), a9 = a0.add(9f), a10 = a0.add(10f), a11 = a0.add(11f);
        FloatVector a12 = a0.add(12f), a13 = a0.add(13f), a14 = a0.add(14f), a15 = a0.add(15f);
        for (int i = 0; i < iters; i++) {
            a0 = a0.fma(m, d);
            a1 = a1.fma(m, d);
            a2 = a2.fma(m, d);
            a3 = a3.fma(m, d);
            a4 = a4.fma(m, d);
            a5 = a5.fma(m, d);
            a6 = a6.fma(m, d);
            a7 = a7.fma(m, d);
            a8 = a8.fma(m, d);
            a9 = a9.fma(m, d);
            a10 = a10.fma(m, d);
            a11 = a11.fma(m, d);
            a12 = a12.fma(m, d);
            a13 = a13.fma(m, d);
            a14 = a14.fma(m, d);
            a15 = a15.fma(m, d);
        }
        return a0.add(a1)
                .add(a2)
                .add(a3)
                .add(a4)
                .add(a5)
                .add(a6)
                .add(a7)
                .add(a8)
                .add(a9)
                .add(a10)
                .add(a11)
                .add(a12)
                .add(a13)
                .add(a14)
                .add(a15)
                .reduceLanes(VectorOperators.ADD);
    }

    private static float run256(int iters) {
        VectorSpecies<Float> s = FloatVector.SPECIES_256;
        FloatVector m = FloatVector.broadcast(s, 0.999999f);
        FloatVector d = FloatVector.broadcast(s, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(s, 1f), a1 = a0.add(1f), a2 = a0.add(2f), a3 = a0.add(3f);
        FloatVector a4 = a0.add(4f), a5 = a0.add(5f), a6 = a0.add(6f), a7 = a0.add(7f);
        FloatVector a8 = a0.add(8f), a9 = a0.add(9f), a10 = a0.add(10f), a11 = a0.add(11f);
        FloatVector a12 = a0.add(12f), a13 = a0.add(13f), a14 = a0.add(14f), a15 = a0.add(15f);
        for (int i = 0; i < iters; i++) {
            a0 = a0.fma(m, d);
            a1 = a1.fma(m, d);
            a2 = a2.fma(m, d);
            a3 = a3.fma(m, d);
            a4 = a4.fma(m, d);
            a5 = a5.fma(m, d);
            a6 = a6.fma(m, d);
            a7 = a7.fma(m, d);
            a8 = a8.fma(m, d);
            a9 = a9.fma(m, d);
            a10 = a10.fma(m, d);
            a11 = a11.fma(m, d);
            a12 = a12.fma(m, d);
            a13 = a13.fma(m, d);
            a14 = a14.fma(m, d);
            a15 = a15.fma(m, d);
        }
        return a0.add(a1)
                .add(a2)
                .add(a3)
                .add(a4)
                .add(a5)
                .add(a6)
                .add(a7)
                .add(a8)
                .add(a9)
                .add(a10)
                .add(a11)
                .add(a12)
                .add(a13)
                .add(a14)
                .add(a15)
                .reduceLanes(VectorOperators.ADD);
    }

    private static float run128(int iters) {
        VectorSpecies<Float> s = FloatVector.SPECIES_128;
        FloatVector m = FloatVector.broadcast(s, 0.999999f);
        FloatVector d = FloatVector.broadcast(s, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(s, 1f), a1 = a0.add(1f), a2 = a0.add(2f), a3 = a0.add(3f);
        FloatVector a4 = a0.add(4f), a5 = a0.add(5f), a6 = a0.add(6f), a7 = a0.add(7f);
        FloatVector a8 = a0.add(8f), a9 = a0.add(9f), a10 = a0.add(10f), a11 = a0.add(11f);
        FloatVector a12 = a0.add(12f), a13 = a0.add(13f), a14 = a0.add(14f), a15 = a0.add(15f);
        for (int i = 0; i < iters; i++) {
            a0 = a0.fma(m, d);
            a1 = a1.fma(m, d);
            a2 = a2.fma(m, d);
            a3 = a3.fma(m, d);
            a4 = a4.fma(m, d);
            a5 = a5.fma(m, d);
            a6 = a6.fma(m, d);
            a7 = a7.fma(m, d);
            a8 = a8.fma(m, d);
            a9 = a9.fma(m, d);
            a10 = a10.fma(m, d);
            a11 = a11.fma(m, d);
            a12 = a12.fma(m, d);
            a13 = a13.fma(m, d);
            a14 = a14.fma(m, d);
            a15 = a15.fma(m, d);
        }
        return a0.add(a1)
                .add(a2)
                .add(a3)
                .add(a4)
                .add(a5)
                .add(a6)
                .add(a7)
                .add(a8)
                .add(a9)
                .add(a10)
                .add(a11)
                .add(a12)
                .add(a13)
                .add(a14)
                .add(a15)
                .reduceLanes(VectorOperators.ADD);
    }
}
