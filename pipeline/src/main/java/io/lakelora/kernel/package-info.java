/**
 * The compute backends: {@link io.lakelora.kernel.Kernels}, chosen once per JVM by
 * {@link io.lakelora.kernel.KernelProvider} ({@code -Dlakelora.kernels=scalar|vector}).
 *
 * <p>The seam between the model and the hardware is the whole interface, not only its matrix products: the layers of
 * {@code io.lakelora.model.nn} do their products through {@code Kernels} and their row and element-wise loops
 * (softmax pieces, RMSNorm rows, SwiGLU) through {@link io.lakelora.kernel.Kernels#math()}, and import no vector API
 * themselves. Each backend supplies both halves: {@link io.lakelora.kernel.ScalarKernels} with
 * {@link io.lakelora.kernel.ScalarMathOps} (plain loops; the specification every other backend is tested against,
 * and the fallback that needs no {@code jdk.incubator.vector} module), {@link io.lakelora.kernel.VectorKernels} with
 * the Vector API operations (the CPU backend; bit-reproducible for any thread count). Still outside the seam: the
 * embedding gather, RoPE, dropout masks and the LoRA glue, which the layers compute in plain Java.
 */
package io.lakelora.kernel;
