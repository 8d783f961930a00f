/**
 * The layers of a LLaMA-family decoder as paired forward/backward functions with explicit caches (llm.c style).
 *
 * <p>Conventions: outputs come first in every signature; gradient buffers are prefixed {@code d}; a backward function
 * ACCUMULATES ({@code +=}) into its input gradients unless its Javadoc says it overwrites; the forward caches what the
 * backward needs (e.g. the reciprocal RMS). All arrays are row-major {@code float[]} with an explicit offset where a
 * caller may point into a larger buffer. Every matrix multiply goes through {@link io.lakelora.kernel.Kernels}, and
 * every vectorized row or element-wise loop (softmax pieces, RMSNorm rows, SwiGLU) through its
 * {@link io.lakelora.kernel.Kernels#math()}: this package imports no vector API, so the backend a caller passes
 * decides all the arithmetic of a layer (the scalar backend runs without the Vector API incubator module).
 *
 * <p>Dimension letters, used in shape comments throughout this package and {@code io.lakelora.model}:
 * <ul>
 *   <li>B: sequences in a micro-batch; T: tokens per sequence; N = B*T: rows of the flattened activations</li>
 *   <li>C: hidden size (model width); F: MLP intermediate size; V: vocabulary size; L: number of decoder layers</li>
 *   <li>NH: query heads; NKV: key/value heads (GQA: NH % NKV == 0); HS: head size (QD = NH*HS, KVD = NKV*HS)</li>
 *   <li>R: LoRA rank; IN/OUT: input/output features of one linear layer (PyTorch weight layout [OUT, IN])</li>
 * </ul>
 */
package io.lakelora.model.nn;
