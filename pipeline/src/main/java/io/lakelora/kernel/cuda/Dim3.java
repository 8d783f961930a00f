package io.lakelora.kernel.cuda;

/** A grid or block size, as CUDA's {@code dim3}. */
public record Dim3(int x, int y, int z) {
    public Dim3 {
        if (x < 1 || y < 1 || z < 1) throw new IllegalArgumentException("dim3 (" + x + ", " + y + ", " + z + ")");
    }

    public static Dim3 of(int x) {
        return new Dim3(x, 1, 1);
    }

    /** x * y * z. */
    public long volume() {
        return (long) x * y * z;
    }
}
