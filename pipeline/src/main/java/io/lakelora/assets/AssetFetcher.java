package io.lakelora.assets;

import io.lakelora.error.BadInputException;
import io.lakelora.util.Hashes;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Fills an assets directory from an {@link AssetManifest}: each file is downloaded to a temporary sibling, checked for
 * its size and SHA-256, then atomically moved into place, so the directory never holds a partial or unverified file;
 * files already present with the right hash are kept without a request. Then each conversion runs into a temporary
 * directory, its outputs are checked against the manifest's hashes and moved into place (skipped when all outputs are
 * already there). Where a file comes from: a per-name override ({@code --url NAME=URL} or the system property
 * {@value #URL_PROPERTY_PREFIX}NAME), else the manifest URL with its scheme and host replaced by a mirror prefix when
 * one is given ({@code --mirror http://host/prefix} fetches {@code http://host/prefix/karpathy/...}), else the manifest
 * URL. http, https and file URLs are read.
 */
public final class AssetFetcher {
    public static final String URL_PROPERTY_PREFIX = "lakelora.assets.url.";
    private static final int ATTEMPTS = 3;

    private final AssetManifest manifest;
    private final Path dir;
    private final String mirror;
    private final Map<String, String> overrides;
    private final Consumer<String> log;
    private HttpClient http;

    /** What happened to one file or conversion: present (verified, kept), downloaded, replaced or converted. */
    public record Result(String name, String path, String status, String source, long bytes) {}

    /** The outcome of {@link #fetch()}; {@code downloads} counts requests that returned a verified file. */
    public record Report(Path dir, List<Result> files, List<Result> conversions, int downloads, long downloadedBytes) {}

    /**
     * @param mirror prefix that replaces every manifest URL's scheme and host, or null
     * @param overrides asset name -> URL; names must be in the manifest
     * @param log progress lines
     */
    public AssetFetcher(
            AssetManifest manifest, Path dir, String mirror, Map<String, String> overrides, Consumer<String> log) {
        this.manifest = manifest;
        this.dir = dir.toAbsolutePath().normalize();
        this.mirror = mirror == null || mirror.isBlank() ? null : mirror.replaceAll("/+$", "");
        for (String name : overrides.keySet()) {
            if (!manifest.names().contains(name)) {
                throw new IllegalArgumentException("URL override for '" + name + "' (--url " + name + "=... or "
                        + URL_PROPERTY_PREFIX + name + "): no asset has that name. Fix: use one of "
                        + manifest.names());
            }
        }
        this.overrides = Map.copyOf(overrides);
        this.log = log;
        if (this.mirror != null) checkUrl(this.mirror + "/x", "--mirror " + mirror);
        overrides.forEach((name, url) -> checkUrl(url, "URL override for '" + name + "'"));
    }

    /** The {@value #URL_PROPERTY_PREFIX}NAME system properties as name -> URL. */
    public static Map<String, String> overridesFromSystemProperties() {
        Map<String, String> m = new LinkedHashMap<>();
        Properties p = System.getProperties();
        for (String k : p.stringPropertyNames()) {
            if (k.startsWith(URL_PROPERTY_PREFIX)) m.put(k.substring(URL_PROPERTY_PREFIX.length()), p.getProperty(k));
        }
        return m;
    }

    /** Where {@code f} is fetched from. */
    public URI source(AssetManifest.FileEntry f) {
        String o = overrides.get(f.name());
        if (o != null) return URI.create(o);
        URI u = URI.create(f.url());
        if (mirror == null) return u;
        return URI.create(mirror + u.getRawPath() + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery()));
    }

    /** Downloads what is missing, then converts; see the class doc. */
    public Report fetch() {
        List<Result> files = new ArrayList<>(), conversions = new ArrayList<>();
        int downloads = 0;
        long bytes = 0;
        for (AssetManifest.FileEntry f : manifest.files()) {
            Path dest = dir.resolve(f.path());
            URI src = source(f);
            boolean existed = Files.exists(dest);
            if (existed && verified(dest, f.sha256(), f.size())) {
                files.add(new Result(f.name(), f.path(), "present", src.toString(), f.size()));
                continue;
            }
            log.accept("[fetch-assets] " + f.path() + " <- " + src + " (" + f.size() + " bytes)");
            long n = download(f, src, dest);
            downloads++;
            bytes += n;
            files.add(new Result(f.name(), f.path(), existed ? "replaced" : "downloaded", src.toString(), n));
        }
        for (AssetManifest.Conversion c : manifest.conversions()) conversions.add(convert(c));
        return new Report(dir, files, conversions, downloads, bytes);
    }

    private Result convert(AssetManifest.Conversion c) {
        Path out = dir.resolve(c.dir());
        long total = c.outputs().stream().mapToLong(AssetManifest.Output::size).sum();
        String from = c.checkpoint() + " + " + c.tokenizer();
        boolean all = true;
        for (AssetManifest.Output o : c.outputs()) all &= verified(out.resolve(o.path()), o.sha256(), o.size());
        if (all) return new Result(c.name(), c.dir(), "present", from, total);
        log.accept("[fetch-assets] " + c.dir() + " <- " + from + " (" + c.kind() + ")");
        Path tmp = out.resolveSibling("." + out.getFileName() + ".tmp-"
                + ProcessHandle.current().pid() + "-" + Long.toHexString(System.nanoTime()));
        try {
            Llama2cConverter.toHf(dir.resolve(c.checkpoint()), dir.resolve(c.tokenizer()), tmp, c.metadata());
            for (AssetManifest.Output o : c.outputs()) {
                Path f = tmp.resolve(o.path());
                Digest got = digest(f);
                if (!got.sha256().equals(o.sha256()) || got.size() != o.size()) {
                    throw new IllegalStateException("conversion '" + c.name() + "' wrote " + o.path() + " with sha256 "
                            + got.sha256() + " (" + got.size() + " bytes), expected " + o.sha256() + " (" + o.size()
                            + " bytes), the file of ../shared/assets/" + c.dir() + ", from verified inputs. Fix: this "
                            + "is a bug in the converter; report it, and use a copy of " + c.dir() + " meanwhile");
                }
            }
            Files.createDirectories(out);
            for (AssetManifest.Output o : c.outputs()) move(tmp.resolve(o.path()), out.resolve(o.path()));
        } catch (IOException e) {
            throw new UncheckedIOException("converting " + from + " into " + out, e);
        } finally {
            deleteTree(tmp);
        }
        return new Result(c.name(), c.dir(), "converted", from, total);
    }

    /** Downloads {@code f} from {@code src} to {@code dest} through a verified temporary file; returns its size. */
    private long download(AssetManifest.FileEntry f, URI src, Path dest) {
        Path tmp = dest.resolveSibling("." + dest.getFileName() + ".part-"
                + ProcessHandle.current().pid() + "-" + Long.toHexString(System.nanoTime()));
        String fix = " Fix: check the network and rerun (files already verified are kept), or point --url " + f.name()
                + "=URL (or " + URL_PROPERTY_PREFIX + f.name() + ", or --mirror) at a copy with sha256 " + f.sha256();
        try {
            Files.createDirectories(dest.getParent());
            long[] size = new long[1];
            String sha = null;
            for (int attempt = 1; sha == null; attempt++) {
                try {
                    Files.deleteIfExists(tmp);
                    sha = copy(f, src, tmp, size);
                } catch (IOException e) {
                    boolean retry = attempt < ATTEMPTS
                            && !"file".equals(src.getScheme())
                            && !(e instanceof HttpStatus s && !s.retryable());
                    if (!retry) {
                        throw new UncheckedIOException(
                                "downloading " + src + " for " + f.path() + " failed after " + attempt + " attempt(s): "
                                        + describe(e) + "." + fix,
                                e);
                    }
                    log.accept("[fetch-assets] " + src + ": " + describe(e) + "; retrying");
                    sleep(1000L * attempt);
                }
            }
            if (size[0] != f.size() || !sha.equals(f.sha256())) {
                String got = size[0] > f.size()
                        ? "more than " + f.size() + " bytes (sha256 of the first " + size[0] + ": " + sha + ")"
                        : "sha256 " + sha + " (" + size[0] + " bytes)";
                throw new BadInputException("download of " + src + " for " + f.path() + " has " + got + ", expected "
                        + "sha256 " + f.sha256() + " (" + f.size() + " bytes): the server sent a different file; "
                        + "nothing was written to " + dest + ". Fix: point --mirror or the URL override at an "
                        + "unmodified copy; if the public source changed, get the original file and pass --url "
                        + f.name() + "=file:///path/to/it");
            }
            move(tmp, dest);
            return size[0];
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "writing " + dest + ": " + e.getMessage() + ". Fix: make " + dir
                            + " writable (or pick another with --dir)",
                    e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the original outcome matters more
            }
        }
    }

    /**
     * Streams {@code src} into {@code tmp} (forced to disk), hashing as it goes; stops early past the expected size.
     * Returns the hex SHA-256 and stores the byte count in {@code size[0]}.
     */
    private String copy(AssetManifest.FileEntry f, URI src, Path tmp, long[] size) throws IOException {
        MessageDigest md = Hashes.sha256();
        try (InputStream in = open(src);
                FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            byte[] buf = new byte[1 << 16];
            long n = 0;
            for (int r; (r = in.read(buf)) > 0; ) {
                md.update(buf, 0, r);
                ByteBuffer b = ByteBuffer.wrap(buf, 0, r);
                while (b.hasRemaining()) out.write(b);
                n += r;
                if (n > f.size()) break; // a wrong file; its hash so far is reported
            }
            out.force(true);
            size[0] = n;
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private InputStream open(URI src) throws IOException {
        if ("file".equals(src.getScheme())) return Files.newInputStream(Path.of(src));
        if (http == null) {
            http = HttpClient.newBuilder()
                    .followRedirects(HttpClient.Redirect.NORMAL)
                    .connectTimeout(Duration.ofSeconds(30))
                    .version(HttpClient.Version.HTTP_1_1)
                    .build();
        }
        HttpRequest req = HttpRequest.newBuilder(src)
                .timeout(Duration.ofSeconds(60))
                .header("User-Agent", "lakelora-fetch-assets/0.1")
                .GET()
                .build();
        HttpResponse<InputStream> resp;
        try {
            resp = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (resp.statusCode() != 200) {
            resp.body().close();
            throw new HttpStatus(resp.statusCode());
        }
        return resp.body();
    }

    /** A non-200 answer; 429 and 5xx are worth another attempt. */
    private static final class HttpStatus extends IOException {
        private final int code;

        HttpStatus(int code) {
            super("HTTP " + code);
            this.code = code;
        }

        boolean retryable() {
            return code == 429 || code >= 500;
        }
    }

    /** "HTTP 404", or the exception chain's types and messages (a refused connection often has no message). */
    static String describe(Throwable e) {
        if (e instanceof HttpStatus) return e.getMessage();
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null && sb.length() < 300; t = t.getCause()) {
            if (sb.length() > 0) sb.append(" <- ");
            sb.append(t.getClass().getSimpleName());
            if (t.getMessage() != null) sb.append(": ").append(t.getMessage());
        }
        return sb.toString();
    }

    /** Whether {@code f} exists with this size and SHA-256. */
    static boolean verified(Path f, String sha256, long size) {
        try {
            if (!Files.isRegularFile(f) || Files.size(f) != size) return false;
            return digest(f).sha256().equals(sha256);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + f, e);
        }
    }

    /** A file's SHA-256 (hex) and size. */
    record Digest(String sha256, long size) {}

    static Digest digest(Path f) throws IOException {
        MessageDigest md = Hashes.sha256();
        long n = 0;
        try (InputStream in = Files.newInputStream(f)) {
            byte[] buf = new byte[1 << 16];
            for (int r; (r = in.read(buf)) > 0; n += r) md.update(buf, 0, r);
        }
        return new Digest(HexFormat.of().formatHex(md.digest()), n);
    }

    private static void checkUrl(String url, String what) {
        try {
            URI u = new URI(url);
            String s = u.getScheme();
            if (s == null || !(s.equals("http") || s.equals("https") || s.equals("file"))) {
                throw new URISyntaxException(url, "scheme is not http, https or file");
            }
            if (!s.equals("file") && u.getHost() == null) throw new URISyntaxException(url, "no host");
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(
                    what + ": '" + url + "' is not a usable URL (" + e.getReason()
                            + "). Fix: give an absolute http://, https:// or file:// URL",
                    e);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void deleteTree(Path p) {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(x);
        } catch (IOException ignored) {
            // a leftover temporary directory is harmless; the outcome matters more
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting to retry a download", e);
        }
    }
}
