package io.lakelora.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The AVX-512 micro-kernel: a 12 x 32 tile in 24 zmm accumulators (two 16-float B vectors and one broadcast A value
 * per row and k step: 27 of 32 registers), 24 FMAs per 14 loads.
 *
 * <p>Unrolled by hand so that C2 keeps every accumulator in a register.
 */
final class MicroKernel512 extends MicroKernel {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_512;
    static final int MR = 12;
    static final int NR = 32;
    private static final int L = 16;

    MicroKernel512() {
        super(MR, NR, 512);
    }

    @Override
    void compute(int kc, float[] ap, int ao, float[] bp, int bo, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S);
        FloatVector c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        FloatVector c80 = FloatVector.zero(S), c81 = FloatVector.zero(S);
        FloatVector c90 = FloatVector.zero(S), c91 = FloatVector.zero(S);
        FloatVector c100 = FloatVector.zero(S), c101 = FloatVector.zero(S);
        FloatVector c110 = FloatVector.zero(S), c111 = FloatVector.zero(S);
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
            a = FloatVector.broadcast(S, ap[ai + 6]);
            c60 = a.fma(b0, c60);
            c61 = a.fma(b1, c61);
            a = FloatVector.broadcast(S, ap[ai + 7]);
            c70 = a.fma(b0, c70);
            c71 = a.fma(b1, c71);
            a = FloatVector.broadcast(S, ap[ai + 8]);
            c80 = a.fma(b0, c80);
            c81 = a.fma(b1, c81);
            a = FloatVector.broadcast(S, ap[ai + 9]);
            c90 = a.fma(b0, c90);
            c91 = a.fma(b1, c91);
            a = FloatVector.broadcast(S, ap[ai + 10]);
            c100 = a.fma(b0, c100);
            c101 = a.fma(b1, c101);
            a = FloatVector.broadcast(S, ap[ai + 11]);
            c110 = a.fma(b0, c110);
            c111 = a.fma(b1, c111);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, 16);
        c10.intoArray(tile, 32);
        c11.intoArray(tile, 48);
        c20.intoArray(tile, 64);
        c21.intoArray(tile, 80);
        c30.intoArray(tile, 96);
        c31.intoArray(tile, 112);
        c40.intoArray(tile, 128);
        c41.intoArray(tile, 144);
        c50.intoArray(tile, 160);
        c51.intoArray(tile, 176);
        c60.intoArray(tile, 192);
        c61.intoArray(tile, 208);
        c70.intoArray(tile, 224);
        c71.intoArray(tile, 240);
        c80.intoArray(tile, 256);
        c81.intoArray(tile, 272);
        c90.intoArray(tile, 288);
        c91.intoArray(tile, 304);
        c100.intoArray(tile, 320);
        c101.intoArray(tile, 336);
        c110.intoArray(tile, 352);
        c111.intoArray(tile, 368);
    }

    @Override
    void computeFull0(int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int cOff, int ldc, float alpha) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S);
        FloatVector c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        FloatVector c80 = FloatVector.zero(S), c81 = FloatVector.zero(S);
        FloatVector c90 = FloatVector.zero(S), c91 = FloatVector.zero(S);
        FloatVector c100 = FloatVector.zero(S), c101 = FloatVector.zero(S);
        FloatVector c110 = FloatVector.zero(S), c111 = FloatVector.zero(S);
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
            a = FloatVector.broadcast(S, ap[ai + 6]);
            c60 = a.fma(b0, c60);
            c61 = a.fma(b1, c61);
            a = FloatVector.broadcast(S, ap[ai + 7]);
            c70 = a.fma(b0, c70);
            c71 = a.fma(b1, c71);
            a = FloatVector.broadcast(S, ap[ai + 8]);
            c80 = a.fma(b0, c80);
            c81 = a.fma(b1, c81);
            a = FloatVector.broadcast(S, ap[ai + 9]);
            c90 = a.fma(b0, c90);
            c91 = a.fma(b1, c91);
            a = FloatVector.broadcast(S, ap[ai + 10]);
            c100 = a.fma(b0, c100);
            c101 = a.fma(b1, c101);
            a = FloatVector.broadcast(S, ap[ai + 11]);
            c110 = a.fma(b0, c110);
            c111 = a.fma(b1, c111);
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
        c60.mul(va).intoArray(c, cOff + 6 * ldc);
        c61.mul(va).intoArray(c, cOff + 6 * ldc + L);
        c70.mul(va).intoArray(c, cOff + 7 * ldc);
        c71.mul(va).intoArray(c, cOff + 7 * ldc + L);
        c80.mul(va).intoArray(c, cOff + 8 * ldc);
        c81.mul(va).intoArray(c, cOff + 8 * ldc + L);
        c90.mul(va).intoArray(c, cOff + 9 * ldc);
        c91.mul(va).intoArray(c, cOff + 9 * ldc + L);
        c100.mul(va).intoArray(c, cOff + 10 * ldc);
        c101.mul(va).intoArray(c, cOff + 10 * ldc + L);
        c110.mul(va).intoArray(c, cOff + 11 * ldc);
        c111.mul(va).intoArray(c, cOff + 11 * ldc + L);
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
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S);
        FloatVector c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        FloatVector c80 = FloatVector.zero(S), c81 = FloatVector.zero(S);
        FloatVector c90 = FloatVector.zero(S), c91 = FloatVector.zero(S);
        FloatVector c100 = FloatVector.zero(S), c101 = FloatVector.zero(S);
        FloatVector c110 = FloatVector.zero(S), c111 = FloatVector.zero(S);
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
            a = FloatVector.broadcast(S, ap[ai + 6]);
            c60 = a.fma(b0, c60);
            c61 = a.fma(b1, c61);
            a = FloatVector.broadcast(S, ap[ai + 7]);
            c70 = a.fma(b0, c70);
            c71 = a.fma(b1, c71);
            a = FloatVector.broadcast(S, ap[ai + 8]);
            c80 = a.fma(b0, c80);
            c81 = a.fma(b1, c81);
            a = FloatVector.broadcast(S, ap[ai + 9]);
            c90 = a.fma(b0, c90);
            c91 = a.fma(b1, c91);
            a = FloatVector.broadcast(S, ap[ai + 10]);
            c100 = a.fma(b0, c100);
            c101 = a.fma(b1, c101);
            a = FloatVector.broadcast(S, ap[ai + 11]);
            c110 = a.fma(b0, c110);
            c111 = a.fma(b1, c111);
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
        int o6 = cOff + 6 * ldc;
        c60.fma(va, FloatVector.fromArray(S, c, o6).mul(vb)).intoArray(c, o6);
        c61.fma(va, FloatVector.fromArray(S, c, o6 + L).mul(vb)).intoArray(c, o6 + L);
        int o7 = cOff + 7 * ldc;
        c70.fma(va, FloatVector.fromArray(S, c, o7).mul(vb)).intoArray(c, o7);
        c71.fma(va, FloatVector.fromArray(S, c, o7 + L).mul(vb)).intoArray(c, o7 + L);
        int o8 = cOff + 8 * ldc;
        c80.fma(va, FloatVector.fromArray(S, c, o8).mul(vb)).intoArray(c, o8);
        c81.fma(va, FloatVector.fromArray(S, c, o8 + L).mul(vb)).intoArray(c, o8 + L);
        int o9 = cOff + 9 * ldc;
        c90.fma(va, FloatVector.fromArray(S, c, o9).mul(vb)).intoArray(c, o9);
        c91.fma(va, FloatVector.fromArray(S, c, o9 + L).mul(vb)).intoArray(c, o9 + L);
        int o10 = cOff + 10 * ldc;
        c100.fma(va, FloatVector.fromArray(S, c, o10).mul(vb)).intoArray(c, o10);
        c101.fma(va, FloatVector.fromArray(S, c, o10 + L).mul(vb)).intoArray(c, o10 + L);
        int o11 = cOff + 11 * ldc;
        c110.fma(va, FloatVector.fromArray(S, c, o11).mul(vb)).intoArray(c, o11);
        c111.fma(va, FloatVector.fromArray(S, c, o11 + L).mul(vb)).intoArray(c, o11 + L);
    }

    @Override
    void computeDirect(int kc, float[] a, int ao, int ps, int rs, float[] bp, int bo, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S);
        FloatVector c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        FloatVector c80 = FloatVector.zero(S), c81 = FloatVector.zero(S);
        FloatVector c90 = FloatVector.zero(S), c91 = FloatVector.zero(S);
        FloatVector c100 = FloatVector.zero(S), c101 = FloatVector.zero(S);
        FloatVector c110 = FloatVector.zero(S), c111 = FloatVector.zero(S);
        final int a0 = ao;
        final int a1 = ao + 1 * rs;
        final int a2 = ao + 2 * rs;
        final int a3 = ao + 3 * rs;
        final int a4 = ao + 4 * rs;
        final int a5 = ao + 5 * rs;
        final int a6 = ao + 6 * rs;
        final int a7 = ao + 7 * rs;
        final int a8 = ao + 8 * rs;
        final int a9 = ao + 9 * rs;
        final int a10 = ao + 10 * rs;
        final int a11 = ao + 11 * rs;
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
            x = FloatVector.broadcast(S, a[a6 + ai]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, a[a7 + ai]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
            x = FloatVector.broadcast(S, a[a8 + ai]);
            c80 = x.fma(b0, c80);
            c81 = x.fma(b1, c81);
            x = FloatVector.broadcast(S, a[a9 + ai]);
            c90 = x.fma(b0, c90);
            c91 = x.fma(b1, c91);
            x = FloatVector.broadcast(S, a[a10 + ai]);
            c100 = x.fma(b0, c100);
            c101 = x.fma(b1, c101);
            x = FloatVector.broadcast(S, a[a11 + ai]);
            c110 = x.fma(b0, c110);
            c111 = x.fma(b1, c111);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, 16);
        c10.intoArray(tile, 32);
        c11.intoArray(tile, 48);
        c20.intoArray(tile, 64);
        c21.intoArray(tile, 80);
        c30.intoArray(tile, 96);
        c31.intoArray(tile, 112);
        c40.intoArray(tile, 128);
        c41.intoArray(tile, 144);
        c50.intoArray(tile, 160);
        c51.intoArray(tile, 176);
        c60.intoArray(tile, 192);
        c61.intoArray(tile, 208);
        c70.intoArray(tile, 224);
        c71.intoArray(tile, 240);
        c80.intoArray(tile, 256);
        c81.intoArray(tile, 272);
        c90.intoArray(tile, 288);
        c91.intoArray(tile, 304);
        c100.intoArray(tile, 320);
        c101.intoArray(tile, 336);
        c110.intoArray(tile, 352);
        c111.intoArray(tile, 368);
    }

    @Override
    void computeDirectHalf(int kc, float[] a, int ao, int ps, int rs, float[] bp, int bo, float[] tile) {
        FloatVector c00 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S);
        FloatVector c70 = FloatVector.zero(S);
        FloatVector c80 = FloatVector.zero(S);
        FloatVector c90 = FloatVector.zero(S);
        FloatVector c100 = FloatVector.zero(S);
        FloatVector c110 = FloatVector.zero(S);
        final int a0 = ao;
        final int a1 = ao + 1 * rs;
        final int a2 = ao + 2 * rs;
        final int a3 = ao + 3 * rs;
        final int a4 = ao + 4 * rs;
        final int a5 = ao + 5 * rs;
        final int a6 = ao + 6 * rs;
        final int a7 = ao + 7 * rs;
        final int a8 = ao + 8 * rs;
        final int a9 = ao + 9 * rs;
        final int a10 = ao + 10 * rs;
        final int a11 = ao + 11 * rs;
        for (int p = 0; p < kc; p++) {
            int ai = p * ps;
            int bi = bo + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector x;
            x = FloatVector.broadcast(S, a[a0 + ai]);
            c00 = x.fma(b0, c00);
            x = FloatVector.broadcast(S, a[a1 + ai]);
            c10 = x.fma(b0, c10);
            x = FloatVector.broadcast(S, a[a2 + ai]);
            c20 = x.fma(b0, c20);
            x = FloatVector.broadcast(S, a[a3 + ai]);
            c30 = x.fma(b0, c30);
            x = FloatVector.broadcast(S, a[a4 + ai]);
            c40 = x.fma(b0, c40);
            x = FloatVector.broadcast(S, a[a5 + ai]);
            c50 = x.fma(b0, c50);
            x = FloatVector.broadcast(S, a[a6 + ai]);
            c60 = x.fma(b0, c60);
            x = FloatVector.broadcast(S, a[a7 + ai]);
            c70 = x.fma(b0, c70);
            x = FloatVector.broadcast(S, a[a8 + ai]);
            c80 = x.fma(b0, c80);
            x = FloatVector.broadcast(S, a[a9 + ai]);
            c90 = x.fma(b0, c90);
            x = FloatVector.broadcast(S, a[a10 + ai]);
            c100 = x.fma(b0, c100);
            x = FloatVector.broadcast(S, a[a11 + ai]);
            c110 = x.fma(b0, c110);
        }
        c00.intoArray(tile, 0);
        c10.intoArray(tile, 32);
        c20.intoArray(tile, 64);
        c30.intoArray(tile, 96);
        c40.intoArray(tile, 128);
        c50.intoArray(tile, 160);
        c60.intoArray(tile, 192);
        c70.intoArray(tile, 224);
        c80.intoArray(tile, 256);
        c90.intoArray(tile, 288);
        c100.intoArray(tile, 320);
        c110.intoArray(tile, 352);
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
