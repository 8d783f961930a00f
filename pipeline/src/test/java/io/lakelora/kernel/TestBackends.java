package io.lakelora.kernel;

/**
 * The backends that layer tests run through, by name, for {@code @ValueSource(strings = {"scalar", "vector"})}:
 * {@code scalar} is {@link ScalarKernels} (the specification, plain loops throughout), {@code vector} is
 * {@link VectorKernels} on one thread (the Vector API products and {@link MathOps}).
 */
public final class TestBackends {
    private TestBackends() {}

    public static Kernels of(String name) {
        return switch (name) {
            case "scalar" -> new ScalarKernels();
            case "vector" -> new VectorKernels(1);
            default -> throw new IllegalArgumentException("backend '" + name + "': expected scalar or vector");
        };
    }
}
