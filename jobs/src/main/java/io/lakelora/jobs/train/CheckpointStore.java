package io.lakelora.jobs.train;

import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.lora.AdapterState;
import io.lakelora.train.Checkpoint;
import io.lakelora.train.OptimizerState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Training checkpoints in the lake: {@code <dir>/step-00000100.ckpt} files in the engine's {@link Checkpoint} format
 * (magic, version, layout header, slabs, CRC32C), each written atomically, then the pointer {@code <dir>/LATEST}
 * (the file name) rewritten atomically. A crash at any point leaves LATEST naming a complete checkpoint.
 */
public final class CheckpointStore {
    private static final String LATEST = "LATEST";
    private final LakeFs fs;
    private final String dir;
    private final int keepLast;

    public CheckpointStore(LakeFs fs, String dir, int keepLast) {
        if (keepLast < 1) throw new IllegalArgumentException("train.keep_checkpoints must be >= 1, got " + keepLast);
        this.fs = fs;
        this.dir = dir.endsWith("/") ? dir.substring(0, dir.length() - 1) : dir;
        this.keepLast = keepLast;
    }

    public String dir() {
        return dir;
    }

    /** Saves the state at its current step; returns the checkpoint's path. */
    public String save(AdapterState s, OptimizerState opt, Checkpoint.Progress progress) {
        String name = Checkpoint.fileName(s.step());
        Path tmp = null;
        try {
            tmp = Files.createTempFile("lakelora-ckpt", ".ckpt");
            Checkpoint.write(tmp, s, opt, progress);
            fs.writeAtomic(dir + "/" + name, Files.readAllBytes(tmp));
            fs.writeAtomic(dir + "/" + LATEST, name.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("writing checkpoint " + dir + "/" + name, e);
        } finally {
            if (tmp != null) tmp.toFile().delete();
        }
        prune(name);
        return dir + "/" + name;
    }

    private void prune(String newest) {
        List<String> ckpts = new ArrayList<>();
        for (String f : fs.list(dir)) if (f.matches("step-\\d{8,}\\.ckpt")) ckpts.add(f);
        ckpts.sort(null);
        for (int i = 0; i < ckpts.size() - keepLast; i++) {
            if (!ckpts.get(i).equals(newest)) fs.delete(dir + "/" + ckpts.get(i));
        }
    }

    /**
     * Loads the checkpoint LATEST points at into {@code into} and {@code opt}; empty when there is none (a fresh run).
     */
    public Optional<Checkpoint.Progress> loadLatest(AdapterState into, OptimizerState opt) {
        if (!fs.exists(dir + "/" + LATEST)) return Optional.empty();
        String name = new String(fs.read(dir + "/" + LATEST), StandardCharsets.UTF_8).strip();
        Path tmp = null;
        try {
            tmp = Files.createTempFile("lakelora-ckpt", ".ckpt");
            Files.write(tmp, fs.read(dir + "/" + name));
            return Optional.of(Checkpoint.read(tmp, into, opt));
        } catch (IOException e) {
            throw new UncheckedIOException("reading checkpoint " + dir + "/" + name, e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "checkpoint " + dir + "/" + name + " is unusable: " + e.getMessage() + ". Fix: delete " + dir
                            + " to start over, or point train.run_id at another run",
                    e);
        } finally {
            if (tmp != null) tmp.toFile().delete();
        }
    }
}
