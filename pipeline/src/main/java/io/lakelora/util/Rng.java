package io.lakelora.util;

import java.nio.charset.StandardCharsets;

/**
 * A small deterministic random generator (SplitMix64) whose whole state is one {@code long}, so a checkpoint can store
 * it and a resumed run draws exactly the numbers an uninterrupted run would. Transcendental functions use
 * {@link StrictMath}, so streams are identical on every JVM and CPU.
 */
public final class Rng {
    private long state;

    public Rng(long seed) {
        this.state = seed;
    }

    /** A generator for one named purpose (e.g. a tensor's PEFT key), independent of every other name. */
    public static Rng derive(long seed, String name) {
        long h = 0xcbf29ce484222325L; // FNV-1a 64 over UTF-8
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return new Rng(mix(seed ^ mix(h)));
    }

    /** The stream for (seed, a, b), e.g. the dropout seed of (step, micro-batch). */
    public static long mix(long seed, long a, long b) {
        return mix(mix(mix(seed) ^ a) ^ b);
    }

    public long state() {
        return state;
    }

    public void setState(long s) {
        this.state = s;
    }

    public long nextLong() {
        state += 0x9E3779B97F4A7C15L;
        return mix(state);
    }

    /** Uniform in [0, 1) with 53 random bits. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Uniform in [0, n). */
    public int nextInt(int n) {
        if (n <= 0) throw new IllegalArgumentException("bound must be > 0, got " + n);
        return (int) (((nextLong() >>> 33) * n) >>> 31);
    }

    /** Standard normal (Box-Muller, one value per two uniforms, no cached second value). */
    public double nextGaussian() {
        double u1 = 1.0 - nextDouble(); // (0, 1]
        double u2 = nextDouble();
        return StrictMath.sqrt(-2.0 * StrictMath.log(u1)) * StrictMath.cos(2.0 * StrictMath.PI * u2);
    }

    /** Fisher-Yates shuffle of {@code a} in place. */
    public void shuffle(int[] a) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
