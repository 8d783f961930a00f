package io.lakelora.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Writes one safetensors file: {@code __metadata__} first (when any), the tensors in the order they were added,
 * the header JSON padded with spaces to a multiple of 8 bytes, data streamed tensor by tensor. The file is written to
 * a temporary sibling, forced to disk, then atomically moved over {@code target}, so readers never see a partial file.
 *
 * <pre>{@code
 * new SafetensorsWriter(dir.resolve("adapter_model.safetensors")).metadata("format", "pt")
 *     .add("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", DType.F32, new long[] {r, in}, a)
 *     .write();
 * }</pre>
 */
public final class SafetensorsWriter extends AbstractTensorWriter<SafetensorsWriter> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path target;

    public SafetensorsWriter(Path target) {
        this.target = target.toAbsolutePath().normalize();
    }

    /** Writes the file; returns its size in bytes. May be called once. */
    public long write() {
        return writeFile(target, pending, metadata);
    }

    /** The header bytes (length excluded) for these tensors: compact JSON padded with spaces to a multiple of 8. */
    static byte[] header(List<Pending> tensors, Map<String, String> metadata) {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = root.putObject(SafetensorsHeader.METADATA_KEY);
            metadata.forEach(m::put);
        }
        long off = 0;
        for (Pending p : tensors) {
            ObjectNode t = root.putObject(p.name());
            t.put("dtype", p.dtype().name());
            ArrayNode shape = t.putArray("shape");
            for (long d : p.shape()) shape.add(d);
            ArrayNode offs = t.putArray("data_offsets");
            offs.add(off);
            off += p.bytes();
            offs.add(off);
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        if (padded > SafetensorsHeader.MAX_HEADER_BYTES) {
            throw new IllegalArgumentException("the safetensors header would be " + padded + " bytes, over the "
                    + SafetensorsHeader.MAX_HEADER_BYTES + " limit readers accept; write fewer tensors per file");
        }
        return out;
    }

    static long writeFile(Path target, List<Pending> tensors, Map<String, String> metadata) {
        byte[] header = header(tensors, metadata);
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp-"
                + ProcessHandle.current().pid() + "-" + Long.toHexString(System.nanoTime()));
        try {
            Files.createDirectories(target.getParent());
            long size;
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer len =
                        ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                writeAll(ch, len);
                writeAll(ch, ByteBuffer.wrap(header));
                TensorSink sink = new TensorSink(ch);
                for (Pending p : tensors) {
                    sink.begin(p.name(), p.dtype(), p.bytes());
                    p.source().writeTo(sink);
                    sink.end();
                }
                ch.force(true);
                size = ch.size();
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            return size;
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new UncheckedIOException("writing " + target, e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    private static void writeAll(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // the original error matters more
        }
    }
}
