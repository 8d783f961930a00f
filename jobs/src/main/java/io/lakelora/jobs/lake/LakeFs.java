package io.lakelora.jobs.lake;

import io.lakelora.error.BoundedReads;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;

/**
 * Files in the lake through the Hadoop FileSystem API (file:, s3a:, abfs:, hdfs:, dbfs:): atomic small-file writes
 * (temp file + rename; on object stores the rename is a copy, and readers only ever look at complete files because a
 * pointer file is written last), whole-file reads, and copying a model directory to a local cache on an executor.
 */
public final class LakeFs {
    private final Configuration conf;

    public LakeFs(Configuration conf) {
        this.conf = conf;
    }

    public Configuration conf() {
        return conf;
    }

    /**
     * The lake file system of this JVM: on an executor (or a driver) with Spark's Hadoop settings (S3A endpoint,
     * credentials provider), else Hadoop's defaults.
     */
    public static LakeFs forThisJvm() {
        org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
        return new LakeFs(
                env == null
                        ? new Configuration()
                        : org.apache.spark.deploy.SparkHadoopUtil.get().newConfiguration(env.conf()));
    }

    /**
     * A local path for a model directory or model file in the lake (a tokenizer, a model): the path itself on a
     * local file system, else a copy under {@code java.io.tmpdir/lakelora-models} (once per JVM and file listing).
     *
     * @param conf Hadoop settings, or null for {@link #forThisJvm()}'s
     */
    public static String local(String location, Configuration conf) {
        LakeFs fs = conf == null ? forThisJvm() : new LakeFs(conf);
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(location);
        try {
            FileSystem f = fs.fs(p);
            org.apache.hadoop.fs.Path q = f.makeQualified(p);
            if ("file".equals(q.toUri().getScheme())) return q.toUri().getPath();
            Path cache = Path.of(System.getProperty("java.io.tmpdir"), "lakelora-models");
            if (f.getFileStatus(q).isFile()) {
                Path dir = fs.localCopy(q.getParent().toString(), cache);
                return dir.resolve(q.getName()).toString();
            }
            return fs.localCopy(q.toString(), cache).toString();
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "reading " + location + " (a model or tokenizer in the lake): " + e.getMessage()
                            + ". Fix: check the path and the credentials for its file system",
                    e);
        }
    }

    private FileSystem fs(org.apache.hadoop.fs.Path p) throws IOException {
        return p.getFileSystem(conf);
    }

    public boolean exists(String path) {
        try {
            org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
            return fs(p).exists(p);
        } catch (IOException e) {
            throw new UncheckedIOException("checking " + path, e);
        }
    }

    /** Writes {@code data} to {@code path} atomically: a temp file beside it, then rename over the target. */
    public void writeAtomic(String path, byte[] data) {
        org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(path);
        org.apache.hadoop.fs.Path tmp = new org.apache.hadoop.fs.Path(
                target.getParent(), "." + target.getName() + "." + UUID.randomUUID() + ".tmp");
        try {
            FileSystem fs = fs(target);
            fs.mkdirs(target.getParent());
            try (FSDataOutputStream out = fs.create(tmp, true)) {
                out.write(data);
            }
            if (fs.exists(target) && !fs.delete(target, false)) {
                throw new IOException("cannot replace " + target);
            }
            if (!fs.rename(tmp, target)) throw new IOException("rename " + tmp + " -> " + target + " failed");
        } catch (IOException e) {
            try {
                fs(tmp).delete(tmp, false);
            } catch (IOException ignored) {
                // best effort cleanup of the temp file
            }
            throw new UncheckedIOException("writing " + path, e);
        }
    }

    /**
     * A small JSON file (a lineage, marker, pointer or config file), at most {@link BoundedReads#jsonCap()} bytes: a
     * hostile or broken file fails with a clear error instead of filling the heap.
     */
    public byte[] readJson(String path) {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
        try (InputStream in = fs(p).open(p)) {
            return BoundedReads.readCapped(in, path, BoundedReads.jsonCap(), BoundedReads.JSON_PROPERTY);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + path, e);
        }
    }

    public byte[] read(String path) {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
        try (InputStream in = fs(p).open(p)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + path, e);
        }
    }

    /** Names of the plain files directly under {@code dir} (empty when it does not exist). */
    public List<String> list(String dir) {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(dir);
        List<String> out = new ArrayList<>();
        try {
            FileSystem fs = fs(p);
            if (!fs.exists(p)) return out;
            for (FileStatus st : fs.listStatus(p)) {
                if (st.isFile()) out.add(st.getPath().getName());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + dir, e);
        }
        return out;
    }

    public void delete(String path) {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
        try {
            fs(p).delete(p, true);
        } catch (IOException e) {
            throw new UncheckedIOException("deleting " + path, e);
        }
    }

    /** Uploads a local directory's files (not recursive) to {@code dir} in the lake. */
    public void uploadDir(Path local, String dir) {
        try (var files = Files.list(local)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (!Files.isRegularFile(f)) continue;
                org.apache.hadoop.fs.Path dst =
                        new org.apache.hadoop.fs.Path(dir, f.getFileName().toString());
                fs(dst).copyFromLocalFile(false, true, new org.apache.hadoop.fs.Path(f.toUri()), dst);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("uploading " + local + " to " + dir, e);
        }
    }

    /**
     * A local directory holding the files of the lake directory {@code dir}: the directory itself for {@code file:} or
     * scheme-less paths, otherwise a copy under {@code cacheRoot} named by a hash of the path (reused when complete).
     */
    public Path localCopy(String dir, Path cacheRoot) {
        org.apache.hadoop.fs.Path src = new org.apache.hadoop.fs.Path(dir);
        String scheme = src.toUri().getScheme();
        if (scheme == null) { // a path on the default file system: the local disk, or DBFS (/Volumes) on Databricks
            try {
                src = fs(src).makeQualified(src);
            } catch (IOException e) {
                throw new UncheckedIOException("resolving " + dir, e);
            }
            scheme = src.toUri().getScheme();
        }
        if (scheme == null || scheme.equals("file")) return Path.of(src.toUri().getPath());
        // keyed by the URI and the listing: a directory whose files are replaced in place is fetched again
        Path local = cacheRoot.resolve(sha256(dir + "|" + fingerprint(dir)).substring(0, 16));
        Path done = local.resolve(".complete");
        if (Files.exists(done)) return local;
        try {
            Path tmp = cacheRoot.resolve(local.getFileName() + "." + UUID.randomUUID() + ".tmp");
            Files.createDirectories(tmp);
            FileSystem fs = fs(src);
            for (FileStatus st : fs.listStatus(src)) {
                if (!st.isFile()) continue;
                FileUtil.copy(
                        fs,
                        st.getPath(),
                        new java.io.File(tmp.toFile(), st.getPath().getName()),
                        false,
                        conf);
            }
            Files.createFile(tmp.resolve(".complete"));
            try {
                Files.move(tmp, local, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException raced) {
                if (!Files.exists(done)) throw raced; // another task finished the same copy first
            }
            return local;
        } catch (IOException e) {
            throw new UncheckedIOException("copying " + dir + " to the local cache " + cacheRoot, e);
        }
    }

    /**
     * A fingerprint of the files directly in {@code dir}: sha256 over (name, length, modification time) in name
     * order. Replacing, adding or removing a file changes it; one listing call, no file contents read.
     *
     * @throws UncheckedIOException naming the directory when it cannot be listed
     */
    public String fingerprint(String dir) {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(dir);
        try {
            FileStatus[] files = fs(p).listStatus(p);
            java.util.Arrays.sort(
                    files, java.util.Comparator.comparing(f -> f.getPath().getName()));
            StringBuilder sb = new StringBuilder();
            for (FileStatus f : files) {
                if (!f.isFile()) continue;
                sb.append(f.getPath().getName())
                        .append('\t')
                        .append(f.getLen())
                        .append('\t')
                        .append(f.getModificationTime())
                        .append('\n');
            }
            return sha256(sb.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "listing " + dir + " (a model or adapter directory): " + e.getMessage()
                            + ". Fix: check the path and the credentials for its file system",
                    e);
        }
    }

    static String sha256(String s) {
        return io.lakelora.util.Hashes.sha256Hex(s);
    }
}
