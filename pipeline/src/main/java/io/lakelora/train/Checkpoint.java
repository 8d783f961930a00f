package io.lakelora.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.AdapterState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * A training checkpoint: the adapter parameters and the optimizer's state slabs, the step, the RNG state, the data
 * position and the trajectory hash of the config, in ONE binary file (little-endian):
 * <pre>
 *   magic "LKLRCKPT" (8 bytes) | version u32 (= 2) | header length u32 | header JSON (UTF-8)
 *   | params f32[size] | each optimizer slab in declared order (f32 or u8) | CRC32C of everything before, u64
 * </pre>
 * The header names the layout (layers, rank, targets, every tensor's PEFT key and shape), so a checkpoint of another
 * adapter is refused with the difference, and the optimizer ({@code type} and its slabs as {@code name:dtype:length}),
 * so resuming with another optimizer is refused too. The slabs are whatever the {@link Optimizer} declares: a new
 * optimizer needs no change here. Version 1 (params, m, v in fp32, no optimizer in the header) still reads, as AdamW.
 * Files are written to a temporary file in the same directory, forced to disk and atomically renamed: a crash leaves
 * the previous checkpoint intact, never a half-written one under the real name.
 */
public final class Checkpoint {
    static final byte[] MAGIC = "LKLRCKPT".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 2;
    private static final int VERSION_1 = 1;
    private static final Pattern NAME = Pattern.compile("step-(\\d{8,})\\.ckpt");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK = 1 << 20;

    private Checkpoint() {}

    /**
     * Where training stands, besides the slabs: {@code rngState} of the trainer's generator, {@code dataPosition} the
     * number of training blocks consumed so far (the stream of blocks is a fixed function of the seed), tokens seen,
     * and the config's {@link TrainConfig#trajectoryHash()}.
     */
    public record Progress(long rngState, long dataPosition, long tokensSeen, String configHash) {}

    /** The checkpoint file name for a step: {@code step-00000100.ckpt}. */
    public static String fileName(long step) {
        return String.format("step-%08d.ckpt", step);
    }

    /** Writes {@code dir/step-N.ckpt} atomically, then deletes all but the newest {@code keepLast}. */
    public static Path save(Path dir, AdapterState s, OptimizerState opt, Progress p, int keepLast) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("creating checkpoint directory " + dir, e);
        }
        Path file = dir.resolve(fileName(s.step()));
        write(file, s, opt, p);
        List<Path> all = list(dir);
        for (int i = 0; i < all.size() - keepLast; i++) {
            try {
                Files.deleteIfExists(all.get(i));
            } catch (IOException e) {
                throw new UncheckedIOException("deleting old checkpoint " + all.get(i), e);
            }
        }
        return file;
    }

    /** The checkpoints in {@code dir}, oldest step first (empty when the directory does not exist). */
    public static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        List<Path> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            files.filter(f -> NAME.matcher(f.getFileName().toString()).matches())
                    .forEach(out::add);
        } catch (IOException e) {
            throw new UncheckedIOException("listing checkpoints in " + dir, e);
        }
        out.sort((a, b) -> Long.compare(stepOf(a), stepOf(b)));
        return out;
    }

    /** The newest checkpoint in {@code dir}, if any. */
    public static Optional<Path> latest(Path dir) {
        List<Path> all = list(dir);
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    private static long stepOf(Path f) {
        Matcher m = NAME.matcher(f.getFileName().toString());
        if (!m.matches()) throw new IllegalArgumentException("not a checkpoint name: " + f);
        return Long.parseLong(m.group(1));
    }

    /** Writes one checkpoint file atomically (temporary file + fsync + rename). */
    public static void write(Path file, AdapterState s, OptimizerState opt, Progress p) {
        byte[] header = header(s, opt, p);
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = dir.resolve(
                file.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        CRC32C crc = new CRC32C();
        try (FileChannel ch = FileChannel.open(
                tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer head =
                    ByteBuffer.allocate(MAGIC.length + 8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
            head.put(MAGIC).putInt(VERSION).putInt(header.length).put(header).flip();
            writeCrc(ch, head, crc);
            ByteBuffer buf = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
            List<Object> slabs = new ArrayList<>();
            slabs.add(s.params());
            for (Optimizer.Slab d : opt.slabs()) slabs.add(opt.array(d.name()));
            for (Object slab : slabs) {
                if (slab instanceof float[] f) {
                    for (float x : f) {
                        if (buf.remaining() < 4) buf = drain(ch, buf, crc);
                        buf.putFloat(x);
                    }
                } else {
                    for (byte x : (byte[]) slab) {
                        if (!buf.hasRemaining()) buf = drain(ch, buf, crc);
                        buf.put(x);
                    }
                }
            }
            buf.flip();
            writeCrc(ch, buf, crc);
            ByteBuffer tail = ByteBuffer.allocate(8)
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(crc.getValue())
                    .flip();
            while (tail.hasRemaining()) ch.write(tail);
            ch.force(true);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the write error below is the one to report
            }
            throw new UncheckedIOException("writing checkpoint " + file, e);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("renaming " + tmp + " to " + file, e);
        }
    }

    private static ByteBuffer drain(FileChannel ch, ByteBuffer buf, CRC32C crc) throws IOException {
        buf.flip();
        writeCrc(ch, buf, crc);
        buf.clear();
        return buf;
    }

    private static void writeCrc(FileChannel ch, ByteBuffer b, CRC32C crc) throws IOException {
        crc.update(b.duplicate());
        while (b.hasRemaining()) ch.write(b);
    }

    private static byte[] header(AdapterState s, OptimizerState opt, Progress p) {
        AdapterLayout l = s.layout();
        ObjectNode h = JSON.createObjectNode();
        h.put("step", s.step());
        h.put("rng_state", p.rngState());
        h.put("data_position", p.dataPosition());
        h.put("tokens_seen", p.tokensSeen());
        h.put("config_hash", p.configHash());
        h.set("layout", layoutJson(l));
        h.set("optimizer", optimizerJson(opt.type(), opt.slabs()));
        try {
            return JSON.writeValueAsBytes(h);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode layoutJson(AdapterLayout l) {
        ObjectNode n = JSON.createObjectNode();
        n.put("num_layers", l.numLayers());
        n.put("r", l.rank());
        n.put("size", l.size());
        ArrayNode t = n.putArray("tensors");
        for (AdapterLayout.Tensor x : l.tensors()) t.add(x.peftKey() + ":" + x.rows() + "x" + x.cols());
        return n;
    }

    private static ObjectNode optimizerJson(String type, List<Optimizer.Slab> slabs) {
        ObjectNode n = JSON.createObjectNode();
        n.put("type", type);
        ArrayNode a = n.putArray("slabs");
        for (Optimizer.Slab d : slabs) a.add(d.name() + ":" + d.dtype() + ":" + d.length());
        return n;
    }

    /** What a version-1 file holds besides the parameters: AdamW's m and v. */
    private static ObjectNode version1Optimizer(long size) {
        ObjectNode n = JSON.createObjectNode();
        n.put("type", AdamW.TYPE);
        n.putArray("slabs").add("m:F32:" + size).add("v:F32:" + size);
        return n;
    }

    /**
     * Reads {@code file} into {@code into} (params, step) and {@code opt} (its slabs) after checking magic, version, length, checksum and
     * layout; returns the progress. Any mismatch is an {@link IllegalArgumentException} naming the file and the fix.
     */
    public static Progress read(Path file, AdapterState into, OptimizerState opt) {
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException("reading checkpoint " + file, e);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            CRC32C crc = new CRC32C();
            int fixed = MAGIC.length + 8;
            if (size < fixed + 8) throw corrupt(file, "it is only " + size + " bytes long (truncated)");
            ByteBuffer head = readFully(ch, fixed, file, crc);
            byte[] magic = new byte[MAGIC.length];
            head.get(magic);
            if (!java.util.Arrays.equals(magic, MAGIC)) {
                throw corrupt(file, "it does not start with the magic 'LKLRCKPT' (not a LakeLoRA checkpoint)");
            }
            int version = head.getInt();
            if (version != VERSION && version != VERSION_1) {
                throw new IllegalArgumentException("checkpoint " + file + " has format version " + version
                        + ", this build reads version " + VERSION + ". Fix: resume with the LakeLoRA version that "
                        + "wrote it, or start a new run in another --out directory");
            }
            int headerLen = head.getInt();
            if (headerLen <= 0 || headerLen > size - fixed - 8) {
                throw corrupt(file, "its header length " + headerLen + " does not fit in a " + size + "-byte file");
            }
            ByteBuffer hb = readFully(ch, headerLen, file, crc);
            JsonNode h;
            try {
                h = JSON.readTree(hb.array());
            } catch (IOException e) {
                throw corrupt(file, "its header is not valid JSON");
            }
            JsonNode layout = h.get("layout");
            long n = layout == null ? -1 : layout.path("size").asLong(-1);
            JsonNode optimizer = version == VERSION_1 ? version1Optimizer(n) : h.get("optimizer");
            long slabBytes = slabBytes(optimizer);
            long expected = (long) fixed + headerLen + 4 * n + slabBytes + 8;
            if (n < 0 || slabBytes < 0 || size != expected) {
                throw corrupt(
                        file,
                        "it is " + size + " bytes long, but its header describes " + expected
                                + " bytes (truncated or damaged)");
            }
            ObjectNode want = layoutJson(into.layout());
            if (!want.equals(layout)) {
                throw new IllegalArgumentException("checkpoint " + file + " belongs to another adapter layout: it has "
                        + describe(layout) + ", this run has " + describe(want) + ". Fix: resume with the same model "
                        + "and LoRA settings, or use another --out directory");
            }
            ObjectNode wantOpt = optimizerJson(opt.type(), opt.slabs());
            if (!wantOpt.equals(optimizer)) {
                throw new IllegalArgumentException("checkpoint " + file + " holds the state of optimizer "
                        + optimizer.path("type").asText("?") + " " + optimizer.path("slabs") + ", this run uses "
                        + opt.type() + " " + wantOpt.path("slabs") + ". Fix: resume with optimizer.type: "
                        + optimizer.path("type").asText("?") + ", or use another --out directory");
            }
            readFloats(ch, into.params(), file, crc);
            for (Optimizer.Slab d : opt.slabs()) {
                Object slab = opt.array(d.name());
                if (slab instanceof float[] f) {
                    readFloats(ch, f, file, crc);
                } else {
                    byte[] bytes = (byte[]) slab;
                    int off = 0;
                    while (off < bytes.length) {
                        int count = Math.min(CHUNK, bytes.length - off);
                        readFully(ch, count, file, crc).get(bytes, off, count);
                        off += count;
                    }
                }
            }
            ByteBuffer tail = readFully(ch, 8, file, null);
            long stored = tail.getLong();
            if (stored != crc.getValue()) {
                throw corrupt(
                        file,
                        "its checksum does not match (stored " + Long.toHexString(stored) + ", computed "
                                + Long.toHexString(crc.getValue()) + ")");
            }
            into.setStep(h.path("step").asLong());
            into.zeroGrads();
            return new Progress(
                    h.path("rng_state").asLong(),
                    h.path("data_position").asLong(),
                    h.path("tokens_seen").asLong(),
                    h.path("config_hash").asText());
        } catch (IOException e) {
            throw new UncheckedIOException("reading checkpoint " + file, e);
        }
    }

    private static void readFloats(FileChannel ch, float[] slab, Path file, CRC32C crc) throws IOException {
        int off = 0;
        while (off < slab.length) {
            int count = Math.min(CHUNK / 4, slab.length - off);
            ByteBuffer b = readFully(ch, count * 4, file, crc);
            b.asFloatBuffer().get(slab, off, count);
            off += count;
        }
    }

    /** Bytes of the optimizer slabs a header declares; -1 when it declares none readable. */
    private static long slabBytes(JsonNode optimizer) {
        if (optimizer == null || !optimizer.path("slabs").isArray()) return -1;
        long sum = 0;
        for (JsonNode d : optimizer.path("slabs")) {
            String[] parts = d.asText().split(":");
            if (parts.length != 3) return -1;
            try {
                long len = Long.parseLong(parts[2]);
                sum += len * Optimizer.DType.valueOf(parts[1]).bytes();
            } catch (IllegalArgumentException e) {
                return -1;
            }
        }
        return sum;
    }

    private static String describe(JsonNode layout) {
        if (layout == null) return "no layout";
        JsonNode t = layout.path("tensors");
        return layout.path("num_layers").asInt() + " layers, r="
                + layout.path("r").asInt() + ", " + t.size() + " tensors"
                + (t.size() > 0 ? " (first " + t.get(0).asText() + ")" : "");
    }

    private static IllegalArgumentException corrupt(Path file, String why) {
        return new IllegalArgumentException("checkpoint " + file + " is corrupt: " + why + ". Fix: delete it to resume "
                + "from the previous checkpoint in that directory, or start again in a new --out directory");
    }

    private static ByteBuffer readFully(FileChannel ch, int n, Path file, CRC32C crc) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) throw corrupt(file, "it ends early (truncated)");
        }
        b.flip();
        if (crc != null) crc.update(b.duplicate());
        return b;
    }
}
