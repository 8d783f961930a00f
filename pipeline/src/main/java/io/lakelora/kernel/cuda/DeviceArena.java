package io.lakelora.kernel.cuda;

/**
 * One device allocation handed out in 256-byte aligned pieces (a bump allocator): the frozen base of a device lives in
 * one arena (one cudaMalloc, no fragmentation), and a step's workspace in another that is reset between steps
 * ({@link #mark()} / {@link #release(long)}). Not thread-safe.
 */
public final class DeviceArena implements AutoCloseable {
    /** Alignment of every piece, as cudaMalloc's (and enough for vector loads of any type). */
    public static final int ALIGN = 256;

    private final CudaApi api;
    private final String name;
    private final long base;
    private final long capacity;
    private long used;
    private long peak;
    private boolean closed;

    /** Allocates {@code capacity} bytes; {@code name} is used in messages (e.g. "base weights"). */
    public DeviceArena(CudaApi api, String name, long capacity) {
        this.api = api;
        this.name = name;
        this.capacity = capacity;
        this.base = api.malloc(capacity);
    }

    /** {@code bytes} rounded up to the alignment. */
    public static long aligned(long bytes) {
        return Math.addExact(bytes, ALIGN - 1) / ALIGN * ALIGN;
    }

    /** The address of a new piece of {@code bytes}. */
    public long take(long bytes) {
        if (closed) throw new IllegalStateException("arena " + name + " is closed");
        if (bytes < 0) throw new IllegalArgumentException("negative size " + bytes);
        long size = aligned(bytes);
        if (used + size > capacity) {
            throw new IllegalStateException("device arena '" + name + "' is full: " + used + " of " + capacity
                    + " bytes used, " + size + " more asked. The workspace plan undercounted; this is a bug");
        }
        long a = base + used;
        used += size;
        peak = Math.max(peak, used);
        return a;
    }

    /** The current fill level, to {@link #release} back to. */
    public long mark() {
        return used;
    }

    /** Frees every piece taken after {@code mark}. */
    public void release(long mark) {
        if (mark < 0 || mark > used) throw new IllegalArgumentException("mark " + mark + " of " + used);
        used = mark;
    }

    public long used() {
        return used;
    }

    public long peak() {
        return peak;
    }

    public long capacity() {
        return capacity;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            api.free(base);
        }
    }
}
