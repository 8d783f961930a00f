package io.lakelora.model;

import java.util.List;

/**
 * The decoder layers of a frozen base, handed out one pass at a time. A pass declares the order it will use the
 * layers in (a training step: 0..L-1, then L-1..0), then acquires and releases each in that order, so that a source
 * streaming from disk can read the next layers while the current one computes ({@link LayerRing}), and one in memory
 * ({@link #inMemory}) returns its layers as they are.
 *
 * <pre>{@code
 * try (LayerSource.Pass pass = source.open(order)) {
 *     for (int l : order) {
 *         LayerWeights w = pass.acquire(l);
 *         ... compute with w ...
 *         pass.release(l);
 *     }
 * }
 * }</pre>
 */
public interface LayerSource {
    int numLayers();

    /** Starts a pass over the layers in {@code order}; one pass at a time. */
    Pass open(int[] order);

    /** One pass: {@link #acquire} and {@link #release} follow the order given to {@link #open}. */
    interface Pass extends AutoCloseable {
        /** The weights of layer {@code l} (the pass's next in order), waiting until they are loaded. */
        LayerWeights acquire(int l);

        /** Hands layer {@code l} back; its weights must not be used afterwards. */
        void release(int l);

        /** Ends the pass (also when it stops early, e.g. on an exception). */
        @Override
        void close();
    }

    /** The order of a training step: the forward 0..L-1, then the backward L-1..0. */
    static int[] trainingOrder(int layers) {
        int[] o = new int[2 * layers];
        for (int l = 0; l < layers; l++) {
            o[l] = l;
            o[2 * layers - 1 - l] = l;
        }
        return o;
    }

    /** The order of a forward pass: 0..L-1. */
    static int[] forwardOrder(int layers) {
        int[] o = new int[layers];
        for (int l = 0; l < layers; l++) o[l] = l;
        return o;
    }

    /** Layers held in memory: every pass returns them as they are. */
    static LayerSource inMemory(List<LayerWeights> layers) {
        List<LayerWeights> ls = List.copyOf(layers);
        Pass pass = new Pass() {
            @Override
            public LayerWeights acquire(int l) {
                return ls.get(l);
            }

            @Override
            public void release(int l) {}

            @Override
            public void close() {}
        };
        return new LayerSource() {
            @Override
            public int numLayers() {
                return ls.size();
            }

            @Override
            public Pass open(int[] order) {
                return pass;
            }
        };
    }
}
