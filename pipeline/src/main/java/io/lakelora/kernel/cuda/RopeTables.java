package io.lakelora.kernel.cuda;

/**
 * The cos/sin tables the device's RoPE reads, computed on the host exactly as {@code model.nn.Rope} computes its own:
 * {@code (float) Math.cos((float) pos * invFreq[i])} with {@code invFreq} rounded to fp32. Every scaling style
 * (default, linear, llama3) is already in {@code invFreq} ({@code ModelConfig.ropeInvFreq()}), so the kernel needs
 * none of them.
 */
public final class RopeTables {
    private RopeTables() {}

    /** {cos, sin}, each (positions, invFreq.length) row-major. */
    public static float[][] of(double[] invFreq, int positions) {
        if (positions < 1) throw new IllegalArgumentException("rope table positions " + positions);
        int half = invFreq.length;
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) inv[i] = (float) invFreq[i];
        float[] c = new float[Math.multiplyExact(positions, half)];
        float[] s = new float[c.length];
        for (int p = 0; p < positions; p++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) p * inv[i];
                c[p * half + i] = (float) Math.cos(angle);
                s[p * half + i] = (float) Math.sin(angle);
            }
        }
        return new float[][] {c, s};
    }
}
