package io.lakelora.lora;

/**
 * Test-side NF4 round trip written from DESIGN.md (bitsandbytes: flatten row-major, blocks of 64, absmax, nearest code
 * by midpoints), so the LoftQ/PiSSA tests do not depend on the production quantizer they are compared against.
 */
final class TestNf4 {
    private static final float[] CODE = io.lakelora.quant.QuantType.NF4.codebook();

    private TestNf4() {}

    static float[] roundTrip(float[] w, int rows, int cols) {
        float[] out = new float[w.length];
        for (int start = 0; start < w.length; start += 64) {
            int end = Math.min(w.length, start + 64);
            float absmax = 0;
            for (int i = start; i < end; i++) absmax = Math.max(absmax, Math.abs(w[i]));
            for (int i = start; i < end; i++) {
                float x = absmax == 0 ? 0 : Math.max(-1f, Math.min(1f, w[i] / absmax));
                int idx = 0;
                while (idx < 15 && x > (CODE[idx] + CODE[idx + 1]) / 2) idx++;
                out[i] = CODE[idx] * absmax;
            }
        }
        return out;
    }
}
