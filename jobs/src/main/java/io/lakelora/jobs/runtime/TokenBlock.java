package io.lakelora.jobs.runtime;

import java.io.Serializable;

/**
 * One packed training block as the trainer sees it: a dense index 0..N-1 (fixed by sorting the table's block ids, so
 * the data order does not depend on partitioning), token ids, labels (-100 = ignored) and per-document positions.
 */
public record TokenBlock(int index, int[] inputIds, int[] labels, int[] positionIds) implements Serializable {}
