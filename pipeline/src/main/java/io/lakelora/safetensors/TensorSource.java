package io.lakelora.safetensors;

/**
 * Produces one tensor's data on demand while the file is written (so a writer never holds the whole file): called
 * once, in file order; it must write exactly the tensor's bytes to the sink.
 */
@FunctionalInterface
public interface TensorSource {
    void writeTo(TensorSink sink);
}
