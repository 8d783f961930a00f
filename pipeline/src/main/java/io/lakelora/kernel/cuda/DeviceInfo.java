package io.lakelora.kernel.cuda;

/**
 * What the backend needs to know of a device: its name, compute capability (the SM the kernels are compiled for),
 * memory and multiprocessor count (for the grid of element-wise kernels).
 */
public record DeviceInfo(int ordinal, String name, int major, int minor, long totalBytes, int multiprocessors) {
    /** e.g. {@code sm90}. */
    public String sm() {
        return "sm" + major + minor;
    }
}
