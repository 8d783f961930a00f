package io.lakelora.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

class LanesTest {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    @Test
    void expIsWithinTwoUlpOfMathExpOverTheFloatRange() {
        Random r = new Random(3);
        float[] x = new float[S.length()];
        float[] y = new float[S.length()];
        int worst = 0;
        for (int it = 0; it < 20000; it++) {
            for (int i = 0; i < x.length; i++) x[i] = (r.nextFloat() * 2 - 1) * (it % 3 == 0 ? 87f : 10f);
            Lanes.exp(FloatVector.fromArray(S, x, 0)).intoArray(y, 0);
            for (int i = 0; i < x.length; i++) {
                float ref = (float) Math.exp(x[i]); // the scalar reference
                int ulps = Math.abs(Float.floatToIntBits(ref) - Float.floatToIntBits(y[i]));
                worst = Math.max(worst, ulps);
                assertTrue(ulps <= 2, "exp(" + x[i] + ") = " + y[i] + ", Math.exp gives " + ref);
            }
        }
        System.out.println("Lanes.exp: worst error " + worst + " ulp over 20000 vectors");
    }

    @Test
    void expEdges() {
        float[] x = new float[S.length()];
        float[] y = new float[S.length()];
        x[0] = 0f;
        x[1] = -100f;
        if (x.length > 2) x[2] = Float.NEGATIVE_INFINITY;
        if (x.length > 3) x[3] = 1f;
        Lanes.exp(FloatVector.fromArray(S, x, 0)).intoArray(y, 0);
        assertEquals(1f, y[0]);
        assertEquals(0f, y[1]);
        if (x.length > 2) assertEquals(0f, y[2]);
        if (x.length > 3) assertEquals((float) Math.E, y[3], Math.ulp((float) Math.E) * 2);
    }

    @Test
    void expNonPositiveHasExpsBitsOnEveryNonPositiveInput() {
        // its integer-bit lower clamp against exp's float max/min clamps: random inputs down to -200 (below MIN_X),
        // and the edges: +0, -0, -infinity, the smallest subnormal, MIN_X and its neighbours
        Random r = new Random(4);
        float[] x = new float[S.length()];
        float[] want = new float[S.length()];
        float[] got = new float[S.length()];
        float[] edges = {
            0f,
            -0f,
            Float.NEGATIVE_INFINITY,
            -Float.MIN_VALUE,
            -88f,
            Math.nextUp(-88f),
            Math.nextDown(-88f),
            -87.5f,
            -Float.MAX_VALUE,
            -1e-30f
        };
        for (int it = 0; it < 20000; it++) {
            for (int i = 0; i < x.length; i++) {
                x[i] = it == 0 ? edges[i % edges.length] : -r.nextFloat() * (it % 2 == 0 ? 200f : 20f);
            }
            Lanes.exp(FloatVector.fromArray(S, x, 0)).intoArray(want, 0);
            Lanes.expNonPositive(FloatVector.fromArray(S, x, 0)).intoArray(got, 0);
            for (int i = 0; i < x.length; i++) {
                assertEquals(
                        Float.floatToRawIntBits(want[i]),
                        Float.floatToRawIntBits(got[i]),
                        "expNonPositive(" + x[i] + ") = " + got[i] + ", exp gives " + want[i]);
            }
        }
    }

    @Test
    void sumIsAFixedPairwiseTree() {
        float[] v = new float[S.length()];
        for (int i = 0; i < v.length; i++) v[i] = 1f / (i + 3);
        // the same tree written out by hand (8- or 16-lane species on this machine)
        float expected;
        if (v.length == 16) {
            expected = (((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7])))
                    + (((v[8] + v[9]) + (v[10] + v[11])) + ((v[12] + v[13]) + (v[14] + v[15])));
        } else {
            expected = ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
        }
        assertEquals(expected, Lanes.sum(v, v.length));
    }
}
