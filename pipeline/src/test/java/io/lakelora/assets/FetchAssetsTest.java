package io.lakelora.assets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.lakelora.cli.Cli;
import io.lakelora.error.BadInputException;
import io.lakelora.error.ExitCodes;
import io.lakelora.kernel.KernelProvider;
import io.lakelora.model.Generator;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.LlamaSession;
import io.lakelora.model.LlamaWeights;
import io.lakelora.safetensors.ShardedCheckpoint;
import io.lakelora.safetensors.TensorInfo;
import io.lakelora.tokenizer.Tokenizer;
import io.lakelora.util.Assets;
import io.lakelora.util.Hashes;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/lakelora fetch-assets} against a local HTTP server that serves the shared assets (../shared/assets, read
 * through the lakelora.assets property) under the public URLs' paths, with the URLs overridden: every file arrives
 * with the manifest's hash, the llama2.c stories260K converts into files equal to the shared stories260K-hf (tensor by
 * tensor, config.json as JSON, then byte for byte) that reproduce the golden tok512 encodings and greedy tokens of
 * stories260K-expected.json, a rerun sends no request, and a corrupted or missing server file fails with the URL, the
 * hashes and the fix, leaving no partial file.
 */
class FetchAssetsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path HF = Assets.require("models/stories260K-hf");
    static final AssetManifest MANIFEST = AssetManifest.load();

    HttpServer server;
    final Map<String, byte[]> served = new ConcurrentHashMap<>();
    final AtomicInteger requests = new AtomicInteger();

    record Run(int code, String out, String err) {}

    @BeforeEach
    void startServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            requests.incrementAndGet();
            byte[] body = served.get(ex.getRequestURI().getPath());
            ex.sendResponseHeaders(body == null ? 404 : 200, body == null ? -1 : body.length);
            if (body != null) {
                try (OutputStream os = ex.getResponseBody()) {
                    os.write(body);
                }
            }
            ex.close();
        });
        server.start();
        // the mirror layout: /m + the public URL's path, the bytes of the shared copy
        for (AssetManifest.FileEntry f : MANIFEST.files()) {
            served.put("/m" + URI.create(f.url()).getPath(), Files.readAllBytes(Assets.require(f.path())));
        }
    }

    @AfterEach
    void stopServer() {
        server.stop(0);
    }

    String mirror() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/m";
    }

    static Run cli(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Cli.run(args, List.of());
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** The field names of a JSON object, in order. */
    static List<String> keys(JsonNode object) {
        List<String> names = new ArrayList<>();
        object.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** Files whose name starts with '.' (our temporary files and directories) anywhere under {@code dir}. */
    static List<Path> leftovers(Path dir) throws IOException {
        if (!Files.exists(dir)) return List.of();
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith(".")).toList();
        }
    }

    @Test
    void downloadsVerifiesConvertsAndRerunsWithoutRequests(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("assets");
        Run r = cli("fetch-assets", "--dir", dir.toString(), "--mirror", mirror(), "--json");
        assertEquals(ExitCodes.OK, r.code(), r.err());
        JsonNode j = JSON.readTree(r.out());
        assertEquals(MANIFEST.files().size(), j.get("downloads").asInt());
        assertEquals(MANIFEST.files().size(), requests.get());
        assertEquals(
                List.of("dir", "files", "conversions", "downloads", "downloaded_bytes", "uses"), keys(j), "key order");
        assertEquals(dir.toAbsolutePath().normalize().toString(), j.get("dir").asText());
        assertEquals(
                List.of("name", "path", "status", "source", "bytes"),
                keys(j.get("files").get(0)));
        assertEquals(
                List.of("name", "path", "status", "source", "bytes"),
                keys(j.get("conversions").get(0)));
        for (JsonNode f : j.get("files")) {
            assertEquals("downloaded", f.get("status").asText(), f.toString());
            assertTrue(f.get("source").asText().startsWith(mirror() + "/"), f.toString());
        }
        assertEquals("converted", j.get("conversions").get(0).get("status").asText());
        for (AssetManifest.FileEntry f : MANIFEST.files()) {
            byte[] got = Files.readAllBytes(dir.resolve(f.path()));
            assertEquals(f.sha256(), Hashes.sha256Hex(got), f.path());
            assertEquals(
                    Hashes.sha256Hex(Files.readAllBytes(Assets.require(f.path()))),
                    f.sha256(),
                    "the manifest's hash of " + f.path() + " is the shared file's");
        }
        assertEquals(List.of(), leftovers(dir));

        Path conv = dir.resolve("models/stories260K-hf");
        assertSameTensors(HF, conv);
        assertEquals(
                JSON.readTree(HF.resolve("config.json").toFile()),
                JSON.readTree(conv.resolve("config.json").toFile()));
        for (String name : List.of(
                "config.json",
                "generation_config.json",
                "model.safetensors",
                "tokenizer.json",
                "tokenizer_config.json")) {
            assertArrayEquals(Files.readAllBytes(HF.resolve(name)), Files.readAllBytes(conv.resolve(name)), name);
        }
        assertGoldenBehaviour(conv);

        int before = requests.get();
        r = cli("fetch-assets", "--dir", dir.toString(), "--mirror", mirror(), "--json");
        assertEquals(ExitCodes.OK, r.code(), r.err());
        j = JSON.readTree(r.out());
        assertEquals(0, j.get("downloads").asInt());
        assertEquals(before, requests.get(), "a rerun sends no request");
        for (JsonNode f : j.get("files"))
            assertEquals("present", f.get("status").asText(), f.toString());
        assertEquals("present", j.get("conversions").get(0).get("status").asText());

        // a damaged converted file is rebuilt from the kept downloads, still without a request
        Files.writeString(conv.resolve("config.json"), "{}");
        r = cli("fetch-assets", "--dir", dir.toString(), "--mirror", mirror(), "--json");
        assertEquals(ExitCodes.OK, r.code(), r.err());
        assertEquals(
                "converted",
                JSON.readTree(r.out()).get("conversions").get(0).get("status").asText());
        assertArrayEquals(
                Files.readAllBytes(HF.resolve("config.json")), Files.readAllBytes(conv.resolve("config.json")));
        assertEquals(before, requests.get());
    }

    /** Same tensor names, dtypes, shapes and float bits, compared tensor by tensor (first difference reported). */
    static void assertSameTensors(Path expected, Path actual) {
        try (ShardedCheckpoint e = ShardedCheckpoint.open(expected);
                ShardedCheckpoint a = ShardedCheckpoint.open(actual)) {
            assertEquals(e.tensors().keySet(), a.tensors().keySet());
            assertEquals(47, a.tensors().size());
            assertEquals(e.metadata(), a.metadata());
            for (TensorInfo t : e.tensors().values()) {
                TensorInfo u = a.info(t.name());
                assertEquals(t.dtype(), u.dtype(), t.name());
                assertArrayEquals(t.shape(), u.shape(), t.name());
                float[] x = e.readFloats(t.name()), y = a.readFloats(t.name());
                for (int i = 0; i < x.length; i++) {
                    if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(y[i])) {
                        throw new AssertionError(t.name() + "[" + i + "]: expected " + x[i] + ", converted " + y[i]);
                    }
                }
            }
        }
    }

    /** The tok512 encodings and the 200 greedy tokens from BOS of stories260K-expected.json. */
    static void assertGoldenBehaviour(Path model) throws Exception {
        JsonNode golden =
                JSON.readTree(Assets.require("models/stories260K-expected.json").toFile());
        JsonNode enc = golden.get("tok512_encodings_no_bos");
        assertEquals(6, enc.size());
        try (Tokenizer t = Tokenizer.load(model)) {
            for (Map.Entry<String, JsonNode> e : enc.properties()) {
                int[] ids = new int[e.getValue().size()];
                for (int i = 0; i < ids.length; i++)
                    ids[i] = e.getValue().get(i).asInt();
                assertArrayEquals(ids, t.encode(e.getKey(), false), e.getKey());
                assertEquals(e.getKey(), t.decode(ids, false));
            }
        }
        JsonNode g = golden.get("greedy").get("generated_ids");
        int[] want = new int[g.size()];
        for (int i = 0; i < want.length; i++) want[i] = g.get(i).asInt();
        assertEquals(200, want.length);
        LlamaWeights w = LlamaLoader.load(model, null);
        Generator.Result r = Generator.generate(
                new LlamaSession(w, KernelProvider.get(), null, 256, 64),
                new int[] {1},
                Generator.Config.greedy(200, Set.of()),
                null);
        assertArrayEquals(want, r.tokens());
    }

    @Test
    void corruptedServerFileIsAHashMismatchAndLeavesNoFile(@TempDir Path tmp) throws Exception {
        AssetManifest.FileEntry tok = MANIFEST.file("tok512");
        byte[] bad = Files.readAllBytes(Assets.require(tok.path()));
        bad[100] ^= 1; // same size, one bit off
        served.put("/corrupt/tok512.bin", bad);
        String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/corrupt/tok512.bin";
        Path dir = tmp.resolve("assets");
        System.setProperty(AssetFetcher.URL_PROPERTY_PREFIX + "tok512", url);
        Run r;
        try {
            r = cli("fetch-assets", "--dir", dir.toString(), "--mirror", mirror());
        } finally {
            System.clearProperty(AssetFetcher.URL_PROPERTY_PREFIX + "tok512");
        }
        assertEquals(ExitCodes.BAD_INPUT, r.code(), r.err());
        String actual = Hashes.sha256Hex(bad);
        for (String part : List.of(url, "expected sha256 " + tok.sha256(), "sha256 " + actual, "Fix: ")) {
            assertTrue(r.err().contains(part), "missing '" + part + "' in: " + r.err());
        }
        assertFalse(Files.exists(dir.resolve(tok.path())), "no tok512.bin after a mismatch");
        assertEquals(List.of(), leftovers(dir), "no partial file");
        assertTrue(
                AssetFetcher.verified(
                        dir.resolve(MANIFEST.file("stories260K").path()),
                        MANIFEST.file("stories260K").sha256(),
                        MANIFEST.file("stories260K").size()),
                "verified files are kept");
        assertFalse(Files.exists(dir.resolve("models/stories260K-hf")), "no conversion without verified inputs");

        // the same through the library: the typed error
        AssetFetcher f = new AssetFetcher(MANIFEST, dir, mirror(), Map.of("tok512", url), line -> {});
        BadInputException e = assertThrows(BadInputException.class, f::fetch);
        assertTrue(e.getMessage().contains(actual), e.getMessage());
    }

    @Test
    void missingServerFileAndUnknownNamesAreNamed(@TempDir Path tmp) {
        Path dir = tmp.resolve("assets");
        String gone = "http://127.0.0.1:" + server.getAddress().getPort() + "/gone/input.txt";
        Run r = cli("fetch-assets", "--dir", dir.toString(), "--mirror", mirror(), "--url", "tinyshakespeare=" + gone);
        assertEquals(ExitCodes.INFRASTRUCTURE, r.code(), r.err());
        assertTrue(
                r.err().contains(gone)
                        && r.err().contains("HTTP 404")
                        && r.err().contains("Fix: "),
                r.err());
        assertFalse(Files.exists(dir.resolve("corpora/tinyshakespeare.txt")));

        r = cli("fetch-assets", "--dir", dir.toString(), "--url", "shakespeare=" + gone);
        assertEquals(ExitCodes.BAD_CONFIG, r.code(), r.err());
        assertTrue(r.err().contains("'shakespeare'") && r.err().contains("tinyshakespeare"), r.err());

        r = cli("fetch-assets", "--dir", dir.toString(), "--mirror", "ftp://mirror/x");
        assertEquals(ExitCodes.BAD_CONFIG, r.code(), r.err());
        assertTrue(r.err().contains("ftp://mirror/x"), r.err());
    }

    @Test
    void listShowsTheSourcesWithoutDownloading(@TempDir Path tmp) throws Exception {
        Run r = cli("fetch-assets", "--dir", tmp.toString(), "--list", "--json");
        assertEquals(ExitCodes.OK, r.code(), r.err());
        JsonNode j = JSON.readTree(r.out());
        assertEquals(List.of("dir", "files", "conversions"), keys(j), "key order");
        JsonNode files = j.get("files");
        assertEquals(MANIFEST.files().size(), files.size());
        assertEquals(List.of("name", "path", "url", "size", "sha256", "license"), keys(files.get(0)));
        assertEquals(
                "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
                files.get(2).get("url").asText());
        assertEquals(0, requests.get());
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void converterRejectsATruncatedCheckpointAndAWrongVocabulary(@TempDir Path tmp) throws Exception {
        Path bin = tmp.resolve("stories260K.bin");
        byte[] all = Files.readAllBytes(Assets.require("models/stories260K-llama2c/stories260K.bin"));
        Files.write(bin, java.util.Arrays.copyOf(all, all.length - 4));
        BadInputException e = assertThrows(BadInputException.class, () -> Llama2cConverter.readHeader(bin));
        assertTrue(
                e.getMessage().contains(bin.toString())
                        && e.getMessage().contains("expected " + all.length)
                        && e.getMessage().contains("Fix: "),
                e.getMessage());
        Path tok = Assets.require("models/stories260K-llama2c/tok512.bin");
        e = assertThrows(BadInputException.class, () -> io.lakelora.tokenizer.Llama2cVocab.convert(tok, 511));
        assertTrue(e.getMessage().contains("has 512 pieces, expected the model's vocab_size 511"), e.getMessage());
    }
}
