package io.lakelora.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The 128-bit micro-kernel (ARM NEON's width, SSE on x86): a 6 x 8 tile in 12 accumulators of 4 floats (two B
 * vectors and one broadcast A value per row and k step), the {@link MicroKernel128} scheme at half the width, so the
 * same FMAs in the same order per output element. For ARM executors (NEON has 32 vector registers) and tested on x86
 * with the species forced to 128 bits ({@code -Dlakelora.vector.bits=128}).
 *
 * <p>Unrolled by hand so that C2 keeps every accumulator in a register.
 */
final class MicroKernel128 extends MicroKernel {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_128;
    static final int MR = 6;
    static final int NR = 8;
    private static final int L = 4;

    MicroKernel128() {
        super(MR, NR, 128);
    }

    @Override
    void compute(int kc, float[] ap, int ao, float[] bp, int bo, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int ai = ao + p * MR;
            int bi = bo + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector a;
            a = FloatVector.broadcast(S, ap[ai + 0]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, 4);
        c10.intoArray(tile, 8);
        c11.intoArray(tile, 12);
        c20.intoArray(tile, 16);
        c21.intoArray(tile, 20);
        c30.intoArray(tile, 24);
        c31.intoArray(tile, 28);
        c40.intoArray(tile, 32);
        c41.intoArray(tile, 36);
        c50.intoArray(tile, 40);
        c51.intoArray(tile, 44);
    }

    @Override
    void computeFull0(int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int cOff, int ldc, float alpha) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int ai = ao + p * MR;
            int bi = bo + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector a;
            a = FloatVector.broadcast(S, ap[ai + 0]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
        }
        FloatVector va = FloatVector.broadcast(S, alpha);
        c00.mul(va).intoArray(c, cOff + 0 * ldc);
        c01.mul(va).intoArray(c, cOff + 0 * ldc + L);
        c10.mul(va).intoArray(c, cOff + 1 * ldc);
        c11.mul(va).intoArray(c, cOff + 1 * ldc + L);
        c20.mul(va).intoArray(c, cOff + 2 * ldc);
        c21.mul(va).intoArray(c, cOff + 2 * ldc + L);
        c30.mul(va).intoArray(c, cOff + 3 * ldc);
        c31.mul(va).intoArray(c, cOff + 3 * ldc + L);
        c40.mul(va).intoArray(c, cOff + 4 * ldc);
        c41.mul(va).intoArray(c, cOff + 4 * ldc + L);
        c50.mul(va).intoArray(c, cOff + 5 * ldc);
        c51.mul(va).intoArray(c, cOff + 5 * ldc + L);
    }

    @Override
    void computeFullBeta(
            int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int cOff, int ldc, float alpha, float beta) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int ai = ao + p * MR;
            int bi = bo + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector a;
            a = FloatVector.broadcast(S, ap[ai + 0]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
        }
        FloatVector va = FloatVector.broadcast(S, alpha);
        FloatVector vb = FloatVector.broadcast(S, beta);
        int o0 = cOff + 0 * ldc;
        c00.fma(va, FloatVector.fromArray(S, c, o0).mul(vb)).intoArray(c, o0);
        c01.fma(va, FloatVector.fromArray(S, c, o0 + L).mul(vb)).intoArray(c, o0 + L);
        int o1 = cOff + 1 * ldc;
        c10.fma(va, FloatVector.fromArray(S, c, o1).mul(vb)).intoArray(c, o1);
        c11.fma(va, FloatVector.fromArray(S, c, o1 + L).mul(vb)).intoArray(c, o1 + L);
        int o2 = cOff + 2 * ldc;
        c20.fma(va, FloatVector.fromArray(S, c, o2).mul(vb)).intoArray(c, o2);
        c21.fma(va, FloatVector.fromArray(S, c, o2 + L).mul(vb)).intoArray(c, o2 + L);
        int o3 = cOff + 3 * ldc;
        c30.fma(va, FloatVector.fromArray(S, c, o3).mul(vb)).intoArray(c, o3);
        c31.fma(va, FloatVector.fromArray(S, c, o3 + L).mul(vb)).intoArray(c, o3 + L);
        int o4 = cOff + 4 * ldc;
        c40.fma(va, FloatVector.fromArray(S, c, o4).mul(vb)).intoArray(c, o4);
        c41.fma(va, FloatVector.fromArray(S, c, o4 + L).mul(vb)).intoArray(c, o4 + L);
        int o5 = cOff + 5 * ldc;
        c50.fma(va, FloatVector.fromArray(S, c, o5).mul(vb)).intoArray(c, o5);
        c51.fma(va, FloatVector.fromArray(S, c, o5 + L).mul(vb)).intoArray(c, o5 + L);
    }

    @Override
    void computeDirect(int kc, float[] a, int ao, int ps, int rs, float[] bp, int bo, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        final int a0 = ao;
        final int a1 = ao + 1 * rs;
        final int a2 = ao + 2 * rs;
        final int a3 = ao + 3 * rs;
        final int a4 = ao + 4 * rs;
        final int a5 = ao + 5 * rs;
        for (int p = 0; p < kc; p++) {
            int ai = p * ps;
            int bi = bo + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector x;
            x = FloatVector.broadcast(S, a[a0 + ai]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[a1 + ai]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[a2 + ai]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[a3 + ai]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[a4 + ai]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[a5 + ai]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, 4);
        c10.intoArray(tile, 8);
        c11.intoArray(tile, 12);
        c20.intoArray(tile, 16);
        c21.intoArray(tile, 20);
        c30.intoArray(tile, 24);
        c31.intoArray(tile, 28);
        c40.intoArray(tile, 32);
        c41.intoArray(tile, 36);
        c50.intoArray(tile, 40);
        c51.intoArray(tile, 44);
    }

    @Override
    void storeFull(float[] tile, float[] c, int cOff, int ldc, float alpha, float beta) {
        FloatVector va = FloatVector.broadcast(S, alpha);
        if (beta == 0f) {
            for (int r = 0; r < MR; r++) {
                int t = r * NR;
                int ci = cOff + r * ldc;
                FloatVector.fromArray(S, tile, t).mul(va).intoArray(c, ci);
                FloatVector.fromArray(S, tile, t + L).mul(va).intoArray(c, ci + L);
            }
        } else {
            FloatVector vb = FloatVector.broadcast(S, beta);
            for (int r = 0; r < MR; r++) {
                int t = r * NR;
                int ci = cOff + r * ldc;
                FloatVector x0 = FloatVector.fromArray(S, c, ci).mul(vb);
                FloatVector x1 = FloatVector.fromArray(S, c, ci + L).mul(vb);
                FloatVector.fromArray(S, tile, t).fma(va, x0).intoArray(c, ci);
                FloatVector.fromArray(S, tile, t + L).fma(va, x1).intoArray(c, ci + L);
            }
        }
    }

    @Override
    float dot(float[] x, int xo, float[] y, int yo, int len) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S);
        FloatVector s2 = FloatVector.zero(S), s3 = FloatVector.zero(S);
        int i = 0;
        for (; i <= len - 4 * L; i += 4 * L) {
            s0 = FloatVector.fromArray(S, x, xo + i).fma(FloatVector.fromArray(S, y, yo + i), s0);
            s1 = FloatVector.fromArray(S, x, xo + i + L).fma(FloatVector.fromArray(S, y, yo + i + L), s1);
            s2 = FloatVector.fromArray(S, x, xo + i + 2 * L).fma(FloatVector.fromArray(S, y, yo + i + 2 * L), s2);
            s3 = FloatVector.fromArray(S, x, xo + i + 3 * L).fma(FloatVector.fromArray(S, y, yo + i + 3 * L), s3);
        }
        for (; i <= len - L; i += L) {
            s0 = FloatVector.fromArray(S, x, xo + i).fma(FloatVector.fromArray(S, y, yo + i), s0);
        }
        float[] l = new float[L];
        s0.add(s1).add(s2.add(s3)).intoArray(l, 0); // here, where the exact type is known (see Lanes.sum)
        float sum = Lanes.sum(l, L);
        for (; i < len; i++) sum += x[xo + i] * y[yo + i];
        return sum;
    }

    @Override
    void axpy(float s, float[] x, int xo, float[] y, int yo, int len) {
        FloatVector vs = FloatVector.broadcast(S, s);
        int i = 0;
        for (; i <= len - L; i += L) {
            FloatVector.fromArray(S, x, xo + i)
                    .fma(vs, FloatVector.fromArray(S, y, yo + i))
                    .intoArray(y, yo + i);
        }
        for (; i < len; i++) y[yo + i] += s * x[xo + i];
    }
}
