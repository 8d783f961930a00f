package io.lakelora.model;

import io.lakelora.model.nn.FrozenLinear;
import io.lakelora.quant.QuantizedMatrix;
import io.lakelora.quant.io.StoredFourBit;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Decoder layers streamed from disk through a ring of K reusable layer buffers, the next layers read by a prefetch
 * thread while the current one computes. The K slots are allocated once (each holds one layer: the 4-bit codes and
 * quant state of its seven linears, its norms and biases) and refilled in place; at most K layers are in memory at
 * any time. A pass walks its order (a training step: 0..L-1, L-1..0): for each position the prefetcher reuses a slot
 * that still holds that layer (at the turn of a training step the last K layers of the forward are the first of the
 * backward: K reads saved), or waits for a slot no position holds any more (the least recently used) and reads the
 * layer into it. The consumer waits only when the layer it asks for is not read yet; {@link #stats} tells how long.
 *
 * <p>One pass at a time; the consumer is one thread. Reads fail with the file and the fix when a file is shorter than
 * its header says (truncated after it was opened).
 */
public final class LayerRing implements LayerSource {
    /**
     * How layer bytes get from disk into the ring: {@code READ} explicit positional reads; {@code MMAP} each file
     * mapped once, the prefetcher {@code load()}s (madvise WILLNEED and a touch of each page) and copies the layer.
     */
    public enum Io {
        READ,
        MMAP
    }

    /** Where a layer's tensors are: a 4-bit description and extents per linear (module ordinal), and the norms. */
    record LayerPlan(
            StoredFourBit[] linear,
            ExtentFiles.Extent[] packed,
            ExtentFiles.Extent[] absmax,
            ExtentFiles.Extent[] nestedAbsmax,
            ExtentFiles.Extent[] nestedCode,
            ExtentFiles.Extent[] bias,
            ExtentFiles.Extent attnNorm,
            ExtentFiles.Extent mlpNorm) {
        long bytes() {
            long b = attnNorm.bytes() + mlpNorm.bytes();
            for (int m = 0; m < linear.length; m++) {
                b += packed[m].bytes() + absmax[m].bytes();
                if (nestedAbsmax[m] != null) b += nestedAbsmax[m].bytes() + nestedCode[m].bytes();
                if (bias[m] != null) b += bias[m].bytes();
            }
            return b;
        }
    }

    /**
     * Totals since the ring was made: bytes and layers read from disk, layers reused from a slot, the prefetcher's
     * time inside reads, the consumer's time waiting for a layer, and the most layers held at once.
     */
    public record Stats(
            long bytesRead, long layersRead, long layersReused, long readNanos, long waitNanos, int maxHeld) {
        /** The counts of this minus {@code earlier} ({@code maxHeld} stays this one's). */
        public Stats minus(Stats earlier) {
            return new Stats(
                    bytesRead - earlier.bytesRead,
                    layersRead - earlier.layersRead,
                    layersReused - earlier.layersReused,
                    readNanos - earlier.readNanos,
                    waitNanos - earlier.waitNanos,
                    maxHeld);
        }
    }

    /** One layer buffer. */
    private static final class Slot {
        final byte[][] packed = new byte[7][];
        final byte[][] absmaxCodes = new byte[7][];
        final float[][] absmax = new float[7][];
        final float[][] nestedAbsmax = new float[7][];
        final float[][] nestedCode = new float[7][];
        final float[][] bias = new float[7][];
        final float[] attnNorm;
        final float[] mlpNorm;
        int layer = -1;
        boolean valid;
        int pins; // positions prefetched into this slot and not released yet
        long lastUse = -1;
        LayerWeights weights;

        Slot(LayerPlan p, int C) {
            attnNorm = new float[C];
            mlpNorm = new float[C];
            for (int m = 0; m < 7; m++) {
                StoredFourBit d = p.linear()[m];
                packed[m] = new byte[Math.toIntExact(d.packedBytes())];
                if (d.doubleQuant()) {
                    absmaxCodes[m] = new byte[d.blocks()];
                    nestedAbsmax[m] = new float[d.nestedBlocks()];
                    nestedCode[m] = new float[256];
                } else {
                    absmax[m] = new float[d.blocks()];
                }
                if (p.bias()[m] != null) bias[m] = new float[d.rows()];
            }
        }

        long bytes() {
            long b = 4L * (attnNorm.length + mlpNorm.length);
            for (int m = 0; m < 7; m++) {
                b += packed[m].length;
                if (absmaxCodes[m] != null) b += absmaxCodes[m].length + 4L * (nestedAbsmax[m].length + 256);
                if (absmax[m] != null) b += 4L * absmax[m].length;
                if (bias[m] != null) b += 4L * bias[m].length;
            }
            return b;
        }
    }

    private final ModelConfig arch;
    private final List<LayerPlan> plans;
    private final ExtentFiles files;
    private final ExtentFiles.Reader reader; // the prefetcher's
    private final Slot[] slots;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    // guarded by lock
    private RingPass current;
    private long bytesRead, layersRead, layersReused, readNanos, waitNanos;
    private int held, maxHeld;

    /** @param slots K >= 1 layer buffers (2: one computing, one being read) */
    LayerRing(ModelConfig arch, List<LayerPlan> plans, ExtentFiles files, int slots) {
        if (slots < 1) throw new IllegalArgumentException("the layer ring needs at least 1 slot, got " + slots);
        if (plans.size() != arch.numLayers()) {
            throw new IllegalArgumentException(plans.size() + " layer plans for " + arch.numLayers() + " layers");
        }
        this.arch = arch;
        this.plans = List.copyOf(plans);
        this.files = files;
        this.reader = files.reader();
        this.slots = new Slot[Math.min(slots, plans.size())];
        for (int i = 0; i < this.slots.length; i++) this.slots[i] = new Slot(plans.get(0), arch.hiddenSize());
    }

    @Override
    public int numLayers() {
        return plans.size();
    }

    /** K, the number of layer buffers (at most the number of layers). */
    public int slots() {
        return slots.length;
    }

    /** Bytes of the K layer buffers. */
    public long residentBytes() {
        long b = 0;
        for (Slot s : slots) b += s.bytes();
        return b;
    }

    /** Bytes one layer reads from disk. */
    public long layerBytes() {
        return plans.get(0).bytes();
    }

    /** How the layers are read (explicit reads or a memory map). */
    public Io io() {
        return files.io();
    }

    public Stats stats() {
        lock.lock();
        try {
            return new Stats(bytesRead, layersRead, layersReused, readNanos, waitNanos, maxHeld);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public Pass open(int[] order) {
        for (int l : order) {
            if (l < 0 || l >= plans.size()) throw new IllegalArgumentException("layer " + l + " is not in the model");
        }
        lock.lock();
        try {
            if (current != null) throw new IllegalStateException("a pass over the layer ring is already open");
            current = new RingPass(order.clone());
        } finally {
            lock.unlock();
        }
        current.start();
        return current;
    }

    /** A pass: the prefetch thread and the consumer's position in the order. */
    private final class RingPass implements Pass {
        final int[] order;
        final int[] slotOf; // position -> slot whose data is ready, or -1
        final Thread prefetcher;
        int next; // next position to acquire
        int released; // next position to release
        boolean cancelled;
        Throwable failure;

        RingPass(int[] order) {
            this.order = order;
            this.slotOf = new int[order.length];
            java.util.Arrays.fill(slotOf, -1);
            this.prefetcher = new Thread(this::prefetch, "lakelora-layer-prefetch");
            prefetcher.setDaemon(true);
        }

        void start() {
            prefetcher.start();
        }

        @Override
        public LayerWeights acquire(int l) {
            lock.lock();
            try {
                if (current != this) throw new IllegalStateException("this pass over the layer ring is closed");
                if (next >= order.length || order[next] != l) {
                    throw new IllegalStateException("layer " + l + " acquired out of order: the pass expects "
                            + (next < order.length ? "layer " + order[next] : "no more layers"));
                }
                long t0 = System.nanoTime();
                while (slotOf[next] < 0 && failure == null) changed.awaitUninterruptibly();
                waitNanos += System.nanoTime() - t0;
                if (failure != null) {
                    if (failure instanceof RuntimeException re) throw re;
                    if (failure instanceof Error err) throw err;
                    throw new IllegalStateException("reading layer " + l + " failed", failure);
                }
                return slots[slotOf[next++]].weights;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void release(int l) {
            lock.lock();
            try {
                if (released >= next || order[released] != l) {
                    throw new IllegalStateException("layer " + l + " released out of order: "
                            + (released < next ? "layer " + order[released] + " is next" : "none is acquired"));
                }
                Slot s = slots[slotOf[released++]];
                if (--s.pins == 0) held--;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void close() {
            lock.lock();
            try {
                if (current != this) return;
                cancelled = true;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
            joinQuietly(prefetcher);
            lock.lock();
            try {
                // positions prefetched but never released (a pass stopped early) leave their slots now
                for (Slot s : slots) s.pins = 0;
                held = 0;
                current = null;
            } finally {
                lock.unlock();
            }
        }

        private void prefetch() {
            for (int j = 0; j < order.length; j++) {
                int x = order[j];
                Slot target;
                int idx;
                lock.lock();
                try {
                    while (true) {
                        if (cancelled) return;
                        idx = holding(x);
                        if (idx >= 0) { // still there from an earlier position: no read
                            Slot s = slots[idx];
                            if (s.pins++ == 0) held++;
                            s.lastUse = j;
                            slotOf[j] = idx;
                            layersReused++;
                            maxHeld = Math.max(maxHeld, held);
                            changed.signalAll();
                            target = null;
                            break;
                        }
                        idx = free();
                        if (idx >= 0) {
                            target = slots[idx];
                            target.valid = false;
                            target.layer = x;
                            target.pins = 1;
                            target.lastUse = j;
                            held++;
                            maxHeld = Math.max(maxHeld, held);
                            break;
                        }
                        changed.awaitUninterruptibly();
                    }
                } finally {
                    lock.unlock();
                }
                if (target == null) continue;
                long t0 = System.nanoTime();
                long b0 = reader.bytes();
                try {
                    target.weights = load(plans.get(x), target);
                } catch (Throwable t) {
                    lock.lock();
                    try {
                        failure = t;
                        changed.signalAll();
                    } finally {
                        lock.unlock();
                    }
                    return;
                }
                lock.lock();
                try {
                    readNanos += System.nanoTime() - t0;
                    bytesRead += reader.bytes() - b0;
                    layersRead++;
                    target.valid = true;
                    slotOf[j] = idx;
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        }

        /** The slot holding a loaded layer x, or -1. */
        private int holding(int x) {
            for (int i = 0; i < slots.length; i++) if (slots[i].valid && slots[i].layer == x) return i;
            return -1;
        }

        /** A slot no position holds: an empty one first, else the least recently used; -1 when all are held. */
        private int free() {
            int best = -1;
            for (int i = 0; i < slots.length; i++) {
                Slot s = slots[i];
                if (s.pins > 0) continue;
                if (best < 0 || s.lastUse < slots[best].lastUse) best = i;
            }
            return best;
        }
    }

    /** Reads layer {@code p} into slot {@code s} and wraps the slot's arrays as the layer's weights. */
    private LayerWeights load(LayerPlan p, Slot s) {
        FrozenLinear[] lin = new FrozenLinear[7];
        for (int m = 0; m < 7; m++) {
            StoredFourBit d = p.linear()[m];
            reader.readBytes(p.packed()[m], s.packed[m]);
            if (d.doubleQuant()) {
                reader.readBytes(p.absmax()[m], s.absmaxCodes[m]);
                reader.readFloats(p.nestedAbsmax()[m], s.nestedAbsmax[m], 0);
                reader.readFloats(p.nestedCode()[m], s.nestedCode[m], 0);
            } else {
                reader.readFloats(p.absmax()[m], s.absmax[m], 0);
            }
            if (p.bias()[m] != null) reader.readFloats(p.bias()[m], s.bias[m], 0);
            QuantizedMatrix q =
                    d.assemble(s.packed[m], s.absmaxCodes[m], s.absmax[m], s.nestedAbsmax[m], s.nestedCode[m]);
            lin[m] = FrozenLinear.quantized(q, s.bias[m]);
        }
        reader.readFloats(p.attnNorm(), s.attnNorm, 0);
        reader.readFloats(p.mlpNorm(), s.mlpNorm, 0);
        // module ordinals: q, k, v, o, gate, up, down (as LlamaWeights.random and LlamaLoader build them)
        return new LayerWeights(s.attnNorm, lin[0], lin[1], lin[2], lin[3], s.mlpNorm, lin[4], lin[5], lin[6]);
    }

    private static void joinQuietly(Thread t) {
        boolean interrupted = false;
        while (t.isAlive()) {
            try {
                t.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    @Override
    public String toString() {
        return "LayerRing[" + slots.length + " slots of " + residentBytes() / slots.length + " bytes, " + files.io()
                + ", " + plans.size() + " layers]";
    }
}
