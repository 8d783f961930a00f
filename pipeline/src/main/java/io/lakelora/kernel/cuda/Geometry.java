package io.lakelora.kernel.cuda;

/** How a kernel maps its work onto the grid (what {@link LaunchGeometry} computes for it). */
public enum Geometry {
    /** A grid-stride loop over n elements: any grid covers them, the geometry only sets the parallelism. */
    ELEMENTWISE,
    /**
     * One block per row ({@code blockIdx.x}; attention also uses {@code y} for the head and {@code z} for the batch
     * element), threads striding over the row's columns and reducing with a block-wide tree: the grid must cover every
     * row and the block size must be a multiple of 32, at most 1024.
     */
    ROWS
}
