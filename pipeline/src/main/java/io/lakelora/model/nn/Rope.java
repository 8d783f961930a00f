package io.lakelora.model.nn;

/**
 * Rotary position embedding in Hugging Face's {@code rotate_half} layout: within each head of size HS, dimension i is
 * paired with i + HS/2, and {@code x_embed = x * cos + rotate_half(x) * sin} with cos/sin duplicated over both halves.
 * The table holds cos and sin of {@code pos * invFreq[i]} (fp32 product, as HF computes {@code freqs}) for positions
 * 0..capacity-1 and grows on demand; it is not thread-safe while growing.
 */
public final class Rope {
    private final float[] invFreq; // (HS/2)
    private final int half;
    private float[] cos = new float[0]; // (P, HS/2)
    private float[] sin = new float[0];
    private int capacity;

    /** @param invFreq (HS/2) inverse frequencies, e.g. from the model config (llama3 scaling already applied) */
    public Rope(double[] invFreq) {
        this.half = invFreq.length;
        this.invFreq = new float[half];
        for (int i = 0; i < half; i++) this.invFreq[i] = (float) invFreq[i];
    }

    public int headSize() {
        return 2 * half;
    }

    /** Makes positions 0..positions-1 available. */
    public void ensure(int positions) {
        if (positions <= capacity) return;
        int cap = Math.max(positions, Math.min(2 * capacity, Integer.MAX_VALUE / 2 / Math.max(half, 1)));
        float[] c = new float[cap * half];
        float[] s = new float[cap * half];
        for (int p = 0; p < cap; p++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) p * invFreq[i];
                c[p * half + i] = (float) Math.cos(angle);
                s[p * half + i] = (float) Math.sin(angle);
            }
        }
        cos = c;
        sin = s;
        capacity = cap;
    }

    /**
     * Rotates in place: for each row n and head h, with (a, b) = (x[i], x[i + HS/2]) and angle = pos[n] * invFreq[i],
     * {@code x[i] = a cos - b sin; x[i + HS/2] = b cos + a sin}.
     *
     * @param x   (N, NHx*HS) at {@code xOff}, NHx = NH for queries or NKV for keys
     * @param pos (N) positions at {@code posOff}
     */
    public void forward(float[] x, int xOff, int[] pos, int posOff, int N, int NHx) {
        rotate(x, xOff, pos, posOff, N, NHx, 1f);
    }

    /**
     * Inverts the forward rotation ({@code dx = R^T dout}, i.e. rotation by -angle), in place: {@code dx} holds dout
     * on entry and the input gradient on return (the rotation is applied to the buffer, it does not accumulate).
     */
    public void backward(float[] dx, int dxOff, int[] pos, int posOff, int N, int NHx) {
        rotate(dx, dxOff, pos, posOff, N, NHx, -1f);
    }

    private void rotate(float[] x, int xOff, int[] pos, int posOff, int N, int NHx, float sign) {
        int HS = 2 * half;
        for (int n = 0; n < N; n++) {
            int p = pos[posOff + n];
            if (p < 0) throw new IllegalArgumentException("negative position id " + p + " at row " + n);
            ensure(p + 1);
            int t = p * half;
            for (int h = 0; h < NHx; h++) {
                int base = xOff + (n * NHx + h) * HS;
                for (int i = 0; i < half; i++) {
                    float c = cos[t + i];
                    float s = sign * sin[t + i];
                    float a = x[base + i];
                    float b = x[base + i + half];
                    x[base + i] = a * c - b * s;
                    x[base + i + half] = b * c + a * s;
                }
            }
        }
    }
}
