package io.lakelora.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link MathOps} on the Vector API (the process's configured width, {@link VectorKernels#configuredSpecies}), the CPU backend's: exp-heavy loops
 * (softmax, SiLU, log-sum-exp; a training step evaluates hundreds of millions of exponentials, 16 ns each with
 * {@code Math.exp}), dot products and RMSNorm's rows. The exponentials and lane sums go through {@link Lanes}, which
 * uses only exact IEEE vector operations: the Vector API's own {@code EXP} and {@code reduceLanes(ADD)} round
 * differently before and after JIT compilation, which broke bit-identical training runs. Results agree with
 * {@code Math.exp} to 2 ulp; sums are accumulated per lane, then across lanes in a fixed order.
 * {@link ScalarMathOps} is the specification.
 */
final class VectorMathOps implements MathOps {
    /** The one instance (the class holds no state). */
    static final VectorMathOps INSTANCE = new VectorMathOps();

    private VectorMathOps() {}

    /**
     * The process's vector width, the same as the matrix products' ({@link VectorKernels#configuredSpecies}): C2
     * compiled the 256-bit micro-kernels 10-25x slower when 512-bit vector code ran beside them (measured with
     * {@code -Dlakelora.vector.bits=256} on Zen 5), so one process uses one width.
     */
    private static final VectorSpecies<Float> S = VectorKernels.configuredSpecies();
    /** Zeros to start vector accumulators from (see {@link #max}). */
    private static final float[] ZEROS = new float[64];

    /**
     * max of x[off, off+n), n > 0, with {@code Math.max}'s result on every input (NaN if any element is NaN, +0 above
     * -0). Full vectors compare ordered integer keys, {@code bits ^ ((bits >> 31) & 0x7fffffff)} (the float order on
     * every non-NaN value, -0 below +0), with one integer max per vector: Java 17 compiles the NaN-aware float
     * {@code max} to a long dependent sequence, and attention's softmax spent most of its max pass there (0.29 ns per
     * element, 3x the integer form). NaNs have keys above +infinity's (positive NaN) or below -infinity's (negative
     * NaN, the x86 default): a running integer min catches the second kind.
     */
    @Override
    public float max(float[] x, int off, int n) {
        int L = S.length();
        int i = 0;
        float m = Float.NEGATIVE_INFINITY;
        if (n >= L) {
            // species named as constants (see Lanes.exp); accumulators start from a load (see expShiftSum)
            VectorSpecies<Integer> si =
                    L == 16 ? IntVector.SPECIES_512 : L == 8 ? IntVector.SPECIES_256 : IntVector.SPECIES_128;
            IntVector b0 = (IntVector) FloatVector.fromArray(S, x, off).reinterpretShape(si, 0);
            IntVector hi0 = b0.lanewise(
                    VectorOperators.XOR, b0.lanewise(VectorOperators.ASHR, 31).and(0x7fffffff));
            IntVector lo0 = hi0, hi1 = hi0, lo1 = hi0;
            for (i = L; i <= n - 2 * L; i += 2 * L) {
                IntVector b = (IntVector) FloatVector.fromArray(S, x, off + i).reinterpretShape(si, 0);
                IntVector k = b.lanewise(
                        VectorOperators.XOR,
                        b.lanewise(VectorOperators.ASHR, 31).and(0x7fffffff));
                IntVector c =
                        (IntVector) FloatVector.fromArray(S, x, off + i + L).reinterpretShape(si, 0);
                IntVector q = c.lanewise(
                        VectorOperators.XOR,
                        c.lanewise(VectorOperators.ASHR, 31).and(0x7fffffff));
                hi0 = hi0.max(k);
                lo0 = lo0.min(k);
                hi1 = hi1.max(q);
                lo1 = lo1.min(q);
            }
            for (; i <= n - L; i += L) {
                IntVector b = (IntVector) FloatVector.fromArray(S, x, off + i).reinterpretShape(si, 0);
                IntVector k = b.lanewise(
                        VectorOperators.XOR,
                        b.lanewise(VectorOperators.ASHR, 31).and(0x7fffffff));
                hi0 = hi0.max(k);
                lo0 = lo0.min(k);
            }
            int[] hl = new int[L];
            int[] ll = new int[L];
            hi0.max(hi1).intoArray(hl, 0); // here, not in a method they are passed to (Lanes.sum)
            lo0.min(lo1).intoArray(ll, 0);
            int hiKey = Integer.MIN_VALUE;
            int loKey = Integer.MAX_VALUE;
            for (int j = 0; j < L; j++) {
                hiKey = Math.max(hiKey, hl[j]);
                loKey = Math.min(loKey, ll[j]);
            }
            if (hiKey > POS_INF_KEY || loKey < NEG_INF_KEY) return Float.NaN;
            m = Float.intBitsToFloat(hiKey ^ ((hiKey >> 31) & 0x7fffffff)); // the key map is its own inverse
        }
        for (; i < n; i++) m = Math.max(m, x[off + i]);
        return m;
    }

    /** Keys of +infinity and -infinity (see {@link #max}): a NaN's key lies above the first or below the second. */
    private static final int POS_INF_KEY = 0x7f800000;

    private static final int NEG_INF_KEY = 0xff800000 ^ 0x7fffffff;

    /**
     * x[i] = exp(x[i] - shift) over [off, off+n), shift >= every x[i] (a softmax's max, taken with a NaN-propagating
     * max: see {@link Lanes#expNonPositive}); returns the sum of the new values. A partial last vector goes
     * through a copy padded with -infinity (exp 0), not through {@code Math.exp} per element (~20 ns each: for
     * attention's causal rows, whose lengths are anything, the scalar tail was most of the softmax).
     */
    @Override
    public float expShiftSum(float[] x, int off, int n, float shift) {
        int L = S.length();
        float[] pad = null;
        FloatVector acc = FloatVector.fromArray(S, ZEROS, 0); // see max
        for (int i = 0; i < n; i += L) {
            // one exp call site (see max): the tail reads and writes the padded copy instead of x
            float[] src = x;
            int so = off + i;
            if (i + L > n) {
                pad = new float[L];
                java.util.Arrays.fill(pad, Float.NEGATIVE_INFINITY);
                System.arraycopy(x, off + i, pad, 0, n - i);
                src = pad;
                so = 0;
            }
            FloatVector e =
                    Lanes.expNonPositive(FloatVector.fromArray(S, src, so).sub(shift));
            e.intoArray(src, so);
            acc = acc.add(e);
        }
        if (pad != null) System.arraycopy(pad, 0, x, off + n / L * L, n % L);
        float[] l = new float[L];
        acc.intoArray(l, 0); // here, not in a method the vector is passed to (see Lanes.sum)
        return Lanes.sum(l, L);
    }

    /** x[i] *= s over [off, off+n). */
    @Override
    public void scale(float[] x, int off, int n, float s) {
        int i = 0;
        for (; i <= n - S.length(); i += S.length()) {
            FloatVector.fromArray(S, x, off + i).mul(s).intoArray(x, off + i);
        }
        for (; i < n; i++) x[off + i] *= s;
    }

    /** x[xo+i] = p[po+i] * (x[xo+i] - shift), i in [0, n) (the softmax backward: dS = P * (dP - rowsum(P dP))). */
    @Override
    public void mulShifted(float[] x, int xo, float[] p, int po, int n, float shift) {
        int i = 0;
        for (; i <= n - S.length(); i += S.length()) {
            FloatVector.fromArray(S, p, po + i)
                    .mul(FloatVector.fromArray(S, x, xo + i).sub(shift))
                    .intoArray(x, xo + i);
        }
        for (; i < n; i++) x[xo + i] = p[po + i] * (x[xo + i] - shift);
    }

    /** sum of a[ao+i] * b[bo+i], i in [0, n). */
    @Override
    public float dot(float[] a, int ao, float[] b, int bo, int n) {
        int i = 0;
        float sum = 0f;
        if (n >= S.length()) {
            FloatVector acc = FloatVector.fromArray(S, a, ao).mul(FloatVector.fromArray(S, b, bo)); // see max
            for (i = S.length(); i <= n - S.length(); i += S.length()) {
                acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
            }
            float[] l = new float[S.length()];
            acc.intoArray(l, 0); // here, not in a method the vector is passed to (see Lanes.sum)
            sum = Lanes.sum(l, l.length);
        }
        for (; i < n; i++) sum += a[ao + i] * b[bo + i];
        return sum;
    }

    /** sum of a[ao+i] * w[i] * b[bo+i], i in [0, n) (RMSNorm's backward: dout . weight . x). */
    @Override
    public float dot3(float[] a, int ao, float[] w, float[] b, int bo, int n) {
        int i = 0;
        float sum = 0f;
        if (n >= S.length()) {
            FloatVector acc = FloatVector.fromArray(S, a, ao)
                    .mul(FloatVector.fromArray(S, w, 0))
                    .mul(FloatVector.fromArray(S, b, bo)); // see max
            for (i = S.length(); i <= n - S.length(); i += S.length()) {
                acc = FloatVector.fromArray(S, a, ao + i)
                        .mul(FloatVector.fromArray(S, w, i))
                        .fma(FloatVector.fromArray(S, b, bo + i), acc);
            }
            float[] l = new float[S.length()];
            acc.intoArray(l, 0); // here, not in a method the vector is passed to (see Lanes.sum)
            sum = Lanes.sum(l, l.length);
        }
        for (; i < n; i++) sum += a[ao + i] * w[i] * b[bo + i];
        return sum;
    }

    /**
     * The vector loop runs from {@code off}, so callers that split a range keep {@code off} at a multiple of the
     * vector length (the scalar tail uses {@code Math.exp}, which may round differently from the vector exp).
     */
    @Override
    public void swiglu(float[] h, float[] g, float[] u, int off, int n) {
        int vecEnd = off + n / S.length() * S.length();
        // per chunk, 1 + exp(-g) into a scratch, then h = g / that * u: one loop doing both crossed Java 17's C2
        // inlining limits now and then, and its vectors then fell back to per-lane code (3x slower)
        float[] den = new float[Math.min(CHUNK, vecEnd - off)];
        for (int c = off; c < vecEnd; c += CHUNK) {
            int ce = Math.min(vecEnd, c + CHUNK);
            onePlusExpNeg(den, g, c, ce);
            gate(h, g, u, den, c, ce);
        }
        for (int i = vecEnd; i < off + n; i++) {
            float s = 1f / (1f + (float) Math.exp(-g[i]));
            h[i] = g[i] * s * u[i];
        }
    }

    /** Elements per chunk of {@link #swiglu}. */
    private static final int CHUNK = 4096;

    /** den[i - from] = 1 + exp(-g[i]) over [from, to), a whole number of vectors. */
    private static void onePlusExpNeg(float[] den, float[] g, int from, int to) {
        for (int i = from; i < to; i += S.length()) {
            Lanes.exp(FloatVector.fromArray(S, g, i).neg()).add(1f).intoArray(den, i - from);
        }
    }

    /** h[i] = g[i] / den[i - from] * u[i] over [from, to), a whole number of vectors. */
    private static void gate(float[] h, float[] g, float[] u, float[] den, int from, int to) {
        for (int i = from; i < to; i += S.length()) {
            FloatVector.fromArray(S, g, i)
                    .div(FloatVector.fromArray(S, den, i - from))
                    .mul(FloatVector.fromArray(S, u, i))
                    .intoArray(h, i);
        }
    }

    /** As {@link #swiglu}: the vector loop runs from {@code off}. */
    @Override
    public void swigluBackward(float[] dg, float[] du, float[] dh, float[] g, float[] u, int off, int n) {
        int i = off;
        int end = off + n;
        int vecEnd = off + (n / S.length()) * S.length();
        // first s = sigmoid(g) into dg, then both gradients from it. (One loop doing both made Java 17's C2 lose the
        // vectors' exact types and fall back to per-lane stores: 2.5x slower.)
        sigmoid(dg, g, off, vecEnd);
        gradsFromSigmoid(dg, du, dh, g, u, off, vecEnd);
        i = vecEnd;
        for (; i < end; i++) {
            float s = 1f / (1f + (float) Math.exp(-g[i]));
            du[i] = dh[i] * g[i] * s;
            dg[i] = dh[i] * u[i] * s * (1f + g[i] * (1f - s));
        }
    }

    /**
     * As {@link ScalarMathOps#geluTanhGate} through {@code 0.5 (1 + tanh z) = sigmoid(2z)}: per chunk
     * {@code 1 + exp(-2z)} into a scratch (the exponential of {@link Lanes}), then {@code h = g / that * u} (the
     * split of {@link #swiglu}, for the same reason). Agrees with the tanh form to fp32 rounding.
     */
    @Override
    public void geluTanhGate(float[] h, float[] g, float[] u, int off, int n) {
        int vecEnd = off + n / S.length() * S.length();
        float[] den = new float[Math.min(CHUNK, vecEnd - off)];
        for (int c = off; c < vecEnd; c += CHUNK) {
            int ce = Math.min(vecEnd, c + CHUNK);
            onePlusExpNeg2z(den, g, c, ce);
            gate(h, g, u, den, c, ce);
        }
        ScalarMathOps.INSTANCE.geluTanhGate(h, g, u, vecEnd, off + n - vecEnd);
    }

    /** den[i - from] = 1 + exp(-2z(g[i])) over [from, to), a whole number of vectors. */
    private static void onePlusExpNeg2z(float[] den, float[] g, int from, int to) {
        for (int i = from; i < to; i += S.length()) {
            FloatVector x = FloatVector.fromArray(S, g, i);
            // -2z = x (-2 beta - 2 beta kappa x^2)
            FloatVector m2z = x.mul(x.mul(x).mul(-2f * GELU_BETA * GELU_KAPPA).add(-2f * GELU_BETA));
            Lanes.exp(m2z).add(1f).intoArray(den, i - from);
        }
    }

    /**
     * With s = sigmoid(2z) (into dg first, as {@link #swigluBackward} does): {@code du = dh g s},
     * {@code dg = dh u (s + 2 g s (1 - s) beta (1 + 3 kappa g^2))} (1 - tanh^2 = 4 s (1 - s)).
     */
    @Override
    public void geluTanhGateBackward(float[] dg, float[] du, float[] dh, float[] g, float[] u, int off, int n) {
        int vecEnd = off + (n / S.length()) * S.length();
        for (int i = off; i < vecEnd; i += S.length()) {
            FloatVector x = FloatVector.fromArray(S, g, i);
            FloatVector m2z = x.mul(x.mul(x).mul(-2f * GELU_BETA * GELU_KAPPA).add(-2f * GELU_BETA));
            FloatVector.broadcast(S, 1f).div(Lanes.exp(m2z).add(1f)).intoArray(dg, i);
        }
        geluGradsFromSigmoid(dg, du, dh, g, u, off, vecEnd);
        ScalarMathOps.INSTANCE.geluTanhGateBackward(dg, du, dh, g, u, vecEnd, off + n - vecEnd);
    }

    private static void geluGradsFromSigmoid(
            float[] dg, float[] du, float[] dh, float[] g, float[] u, int from, int to) {
        for (int i = from; i < to; i += S.length()) {
            FloatVector s = FloatVector.fromArray(S, dg, i);
            FloatVector x = FloatVector.fromArray(S, g, i);
            FloatVector d = FloatVector.fromArray(S, dh, i);
            d.mul(x).mul(s).intoArray(du, i);
            // s + 2 beta x s (1 - s) (1 + 3 kappa x^2)
            FloatVector poly = x.mul(x).mul(3f * GELU_KAPPA).add(1f);
            FloatVector ds = s.add(x.mul(s).mul(s.neg().add(1f)).mul(poly).mul(2f * GELU_BETA));
            d.mul(FloatVector.fromArray(S, u, i)).mul(ds).intoArray(dg, i);
        }
    }

    /** du = dh g s, dg = dh u s (1 + g (1 - s)) over [from, to), s read from dg (overwritten). */
    private static void gradsFromSigmoid(float[] dg, float[] du, float[] dh, float[] g, float[] u, int from, int to) {
        for (int i = from; i < to; i += S.length()) {
            FloatVector s = FloatVector.fromArray(S, dg, i);
            FloatVector gv = FloatVector.fromArray(S, g, i);
            FloatVector d = FloatVector.fromArray(S, dh, i);
            d.mul(gv).mul(s).intoArray(du, i);
            FloatVector ds = s.mul(gv.mul(s.neg().add(1f)).add(1f)); // s (1 + g (1 - s))
            d.mul(FloatVector.fromArray(S, u, i)).mul(ds).intoArray(dg, i);
        }
    }

    /** out[i] = 1 / (1 + exp(-g[i])) over [from, to), a whole number of vectors. */
    private static void sigmoid(float[] out, float[] g, int from, int to) {
        for (int i = from; i < to; i += S.length()) {
            FloatVector e = Lanes.exp(FloatVector.fromArray(S, g, i).neg()).add(1f);
            FloatVector.broadcast(S, 1f).div(e).intoArray(out, i);
        }
    }

    /**
     * Row sums are {@link #dot} (per-lane partial sums added in a fixed order, so deterministic); they replaced scalar
     * double sums that cost ~1 ns per element (RMSNorm was 18 ms of a 1.3 s 100M step, ~1% now).
     */
    @Override
    public void rmsNormForward(
            float[] out,
            int outOff,
            float[] rstd,
            int rstdOff,
            float[] inp,
            int inpOff,
            float[] weight,
            int N,
            int C,
            float eps) {
        for (int n = 0; n < N; n++) {
            int x = inpOff + n * C;
            int o = outOff + n * C;
            float ss = dot(inp, x, inp, x, C); // fp32 sum of squares, as HF's x.pow(2).mean(-1)
            float r = (float) (1.0 / Math.sqrt(ss / C + (double) eps));
            if (rstd != null) rstd[rstdOff + n] = r;
            int c = 0;
            for (; c <= C - S.length(); c += S.length()) {
                FloatVector.fromArray(S, weight, c)
                        .mul(FloatVector.fromArray(S, inp, x + c).mul(r))
                        .intoArray(out, o + c);
            }
            for (; c < C; c++) out[o + c] = weight[c] * (inp[x + c] * r);
        }
    }

    @Override
    public void rmsNormBackward(
            float[] dinp,
            int dinpOff,
            float[] dout,
            int doutOff,
            float[] inp,
            int inpOff,
            float[] weight,
            float[] rstd,
            int rstdOff,
            int N,
            int C) {
        for (int n = 0; n < N; n++) {
            int x = inpOff + n * C;
            int d = doutOff + n * C;
            int di = dinpOff + n * C;
            float r = rstd[rstdOff + n];
            float dot = dot3(dout, d, weight, inp, x, C);
            float k = (float) ((double) dot * r * r * r / C);
            int c = 0;
            for (; c <= C - S.length(); c += S.length()) {
                FloatVector g = FloatVector.fromArray(S, weight, c)
                        .mul(FloatVector.fromArray(S, dout, d + c))
                        .mul(r)
                        .sub(FloatVector.fromArray(S, inp, x + c).mul(k));
                FloatVector.fromArray(S, dinp, di + c).add(g).intoArray(dinp, di + c);
            }
            for (; c < C; c++) dinp[di + c] += weight[c] * dout[d + c] * r - inp[x + c] * k;
        }
    }
}
