package io.lakelora.jobs.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.common.LakePaths;
import io.lakelora.jobs.testing.TestSpark;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Job 01 on small hand-made inputs: bad rows, duplicates, incremental runs, bad configs. */
class PrepareCorpusEdgeCasesTest {
    private static SparkSession spark;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void start() {
        spark = TestSpark.start(Map.of());
    }

    @AfterAll
    static void stop() {
        TestSpark.stop(spark);
    }

    private static PrepareConfig config(String lake, PrepareConfig.Input... inputs) {
        PrepareConfig c = new PrepareConfig();
        c.lake.root = lake;
        c.spark.shufflePartitions = 2;
        c.inputs = List.of(inputs);
        c.filters.minChars = 3;
        return c;
    }

    private static PrepareConfig.Input input(String name, Path path, String format, String shape) {
        PrepareConfig.Input in = new PrepareConfig.Input();
        in.name = name;
        in.path = path.toString();
        in.format = format;
        in.shape = shape;
        return in;
    }

    @Test
    void everyKindOfBadRowIsQuarantinedWithItsReason() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        String[] lines = {
            "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello there\"}]}",
            "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"", // 2 malformed JSON
            "{\"messages\": \"not a list\"}", // 3 wrong type
            "{\"messages\": null}", // 4 null
            "{\"other\": 1}", // 5 missing field
            "{\"messages\": [{\"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"x\"}]}", // 6 no role
            "{\"messages\": [{\"role\": \"wizard\", \"content\": \"Hi\"}]}", // 7 unknown role
            "{\"messages\": [{\"role\": \"user\", \"content\": \"Only a question\"}]}", // 8 no assistant
            "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \" \\u0000 \"}]}", // 9 empty turn
            "[1, 2]", // 10 not an object
            "{\"messages\": [{\"role\": \"user\", \"content\": 42}, {\"role\": \"assistant\", \"content\": \"x\"}]}", // 11 number content
        };
        for (String l : lines) b.write((l + "\n").getBytes(StandardCharsets.UTF_8));
        b.write("{\"messages\": [{\"role\": \"user\", \"content\": \"caf"
                .getBytes(StandardCharsets.UTF_8)); // 12 bad UTF-8
        b.write(new byte[] {(byte) 0xC3, (byte) 0x28});
        b.write("\"}]}\n".getBytes(StandardCharsets.UTF_8));
        b.write(("{\"messages\": [{\"role\": \"user\", \"content\": \"" + "x".repeat(3000) + "\"}]}\n") // 13 huge row
                .getBytes(StandardCharsets.UTF_8));
        Path file = Files.write(tmp.resolve("chat.jsonl"), b.toByteArray());
        PrepareConfig cfg = config(tmp.resolve("bad-lake").toString(), input("chat", file, "jsonl", "chat"));
        cfg.maxRowChars = 2000;
        cfg.dedup.near.enabled = false;
        PrepareCorpusJob.Result r = PrepareCorpusJob.run(spark, cfg);
        assertEquals(13, r.read());
        assertEquals(1, r.count(PrepareCorpusJob.KEPT));
        assertEquals(12, r.count(PrepareCorpusJob.QUARANTINED));
        Map<Long, String> reasons = new TreeMap<>();
        Dataset<Row> q =
                spark.read().format("delta").load(new LakePaths(cfg.lake.root).table(LakePaths.CORPUS_QUARANTINE));
        for (Row row : q.select("source_row", "reason", "raw").collectAsList())
            reasons.put(row.getLong(0), row.getString(1));
        Map<Long, String> expected = new TreeMap<>(Map.ofEntries(
                Map.entry(2L, "malformed_json"),
                Map.entry(3L, "wrong_type"),
                Map.entry(4L, "null_field"),
                Map.entry(5L, "missing_field"),
                Map.entry(6L, "missing_role"),
                Map.entry(7L, "unknown_role"),
                Map.entry(8L, "no_assistant_turn"),
                Map.entry(9L, "empty_turn"),
                Map.entry(10L, "not_an_object"),
                Map.entry(11L, "wrong_type"),
                Map.entry(12L, "invalid_utf8"),
                Map.entry(13L, "row_too_large")));
        assertEquals(expected, reasons);
        Row malformed = q.where("source_row = 2").first();
        assertEquals(lines[1], malformed.getAs("raw"), "the row as read");
        assertTrue(((String) malformed.getAs("source_file")).endsWith("chat.jsonl"));
        assertEquals(2L, r.details().get("reason.wrong_type"));
    }

    @Test
    void chatRowsAreMaskedAndOverlongDocumentsQuarantinedByJob02() throws IOException {
        Path chat = Files.writeString(
                tmp.resolve("conv.jsonl"),
                "{\"conversation\": [{\"from\": \"human\", "
                        + "\"value\": \"Say hi\"}, {\"from\": \"gpt\", \"value\": \"Hello there\"}]}\n");
        PrepareConfig.Input c = input("conv", chat, "jsonl", "chat");
        c.columns.messages = "conversation";
        c.columns.role = "from";
        c.columns.content = "value";
        c.columns.roleMap = Map.of("human", "user", "gpt", "assistant"); // ShareGPT
        StringBuilder longStory = new StringBuilder();
        for (int i = 0; i < 60; i++)
            longStory.append("The cat number ").append(i).append(" sat on a mat. ");
        Path text =
                Files.writeString(tmp.resolve("long.txt"), longStory.toString().strip());
        PrepareConfig p = config(tmp.resolve("chat-lake").toString(), c, input("long", text, "text", "text"));
        p.filters.maxRepetitionRatio = 1.0;
        p.dedup.near.enabled = false;
        assertEquals(2, PrepareCorpusJob.run(spark, p).count(PrepareCorpusJob.KEPT));

        io.lakelora.jobs.tokenize.TokenizeConfig t = new io.lakelora.jobs.tokenize.TokenizeConfig();
        t.lake.root = p.lake.root;
        t.model.tokenizer =
                io.lakelora.util.Assets.require("models/stories260K-hf").toString();
        t.template.fallback = "chatml";
        t.pack.blockSize = 64;
        t.pack.overflow = "quarantine";
        t.pack.partitions = 1;
        var r = io.lakelora.jobs.tokenize.TokenizePackJob.run(spark, t);
        assertEquals(2, r.count("docs_read"));
        assertEquals(1, r.count("docs_packed"));
        assertEquals(1, r.count("reason.longer_than_block"));
        Row q = spark.read()
                .format("delta")
                .load(new LakePaths(t.lake.root).table(LakePaths.TOKEN_QUARANTINE))
                .first();
        assertEquals("longer_than_block", q.getAs("reason"));
        assertTrue((int) q.getAs("n_tokens") > 64);
        Row b = spark.read()
                .format("delta")
                .load(new LakePaths(t.lake.root).table(LakePaths.TOKEN_BLOCKS))
                .first();
        List<Integer> ids = b.getList(b.fieldIndex("input_ids"));
        List<Integer> labels = b.getList(b.fieldIndex("labels"));
        List<Integer> trained = new java.util.ArrayList<>();
        for (int i = 0; i < ids.size(); i++) if (labels.get(i) != -100) trained.add(ids.get(i));
        try (io.lakelora.tokenizer.Tokenizer tok = io.lakelora.tokenizer.Tokenizer.load(Path.of(t.model.tokenizer))) {
            assertEquals(
                    "Hello there<|im_end|>\n</s>",
                    tok.decode(trained.stream().mapToInt(Integer::intValue).toArray(), false));
        }
        assertEquals("all_assistant_turns", b.getAs("mask_mode"));
    }

    @Test
    void exactAndNearDuplicatesKeepTheFirstDocument() throws IOException {
        String a = "The quick brown fox jumps over the lazy dog near the river bank today.";
        String nearA = "The quick brown fox jumps over the lazy dog near the river bank today!";
        String other = "An entirely different sentence about the weather in spring and rain.";
        Path file = Files.writeString(
                tmp.resolve("dups.txt"),
                String.join("\n", a, other, a.replace("quick ", "quick \t ") + "  ", nearA) + "\n");
        PrepareConfig.Input in = input("dups", file, "text", "text");
        in.textSplit = "line";
        PrepareConfig cfg = config(tmp.resolve("dup-lake").toString(), in);
        PrepareCorpusJob.Result r = PrepareCorpusJob.run(spark, cfg);
        assertEquals(4, r.read());
        assertEquals(2, r.count(PrepareCorpusJob.KEPT));
        assertEquals(1, r.count(PrepareCorpusJob.EXACT_DUP), "line 3 differs from line 1 in whitespace only");
        assertEquals(1, r.count(PrepareCorpusJob.NEAR_DUP), "line 4 differs in one character");
        Map<String, Long> kept = new HashMap<>();
        for (Row row : spark.read()
                .format("delta")
                .load(new LakePaths(cfg.lake.root).table(LakePaths.CORPUS_CLEAN))
                .select("text", "source_row")
                .collectAsList()) {
            kept.put(row.getString(0), row.getLong(1));
        }
        assertEquals(Map.of(a, 1L, other, 2L), kept, "the first of each group is kept");

        // a later file with a near duplicate of a kept document: dropped against the table
        Path later = Files.writeString(tmp.resolve("dups2.txt"), other.replace("rain.", "rain!") + "\n");
        PrepareConfig.Input in2 = input("dups2", later, "text", "text");
        in2.textSplit = "line";
        PrepareCorpusJob.Result r2 = PrepareCorpusJob.run(spark, config(cfg.lake.root, in, in2));
        assertEquals(1, r2.read(), "incremental: only the new file is read");
        assertEquals(1, r2.count(PrepareCorpusJob.NEAR_DUP));

        // signatures: run 1 computed its 3 candidates and kept those of its 2 kept documents; run 2 computed only its
        // new document and took the 2 existing ones from corpus_minhash
        String sigPath = new LakePaths(cfg.lake.root).table(LakePaths.CORPUS_MINHASH);
        assertEquals(3L, r.details().get("minhash.computed"));
        assertEquals(0L, r.details().get("minhash.cached"));
        assertEquals(1L, r2.details().get("minhash.computed"));
        assertEquals(2L, r2.details().get("minhash.cached"));
        assertEquals(2L, spark.read().format("delta").load(sigPath).count());

        // the cache lost (or settings changed): existing documents are signed again and the cache refilled
        org.apache.commons.io.FileUtils.deleteDirectory(
                java.nio.file.Path.of(java.net.URI.create(sigPath.startsWith("file:") ? sigPath : "file:" + sigPath))
                        .toFile());
        Path third = Files.writeString(tmp.resolve("dups3.txt"), a.replace("today.", "today?") + "\n");
        PrepareConfig.Input in3 = input("dups3", third, "text", "text");
        in3.textSplit = "line";
        PrepareCorpusJob.Result r3 = PrepareCorpusJob.run(spark, config(cfg.lake.root, in, in2, in3));
        assertEquals(1, r3.read());
        assertEquals(1, r3.count(PrepareCorpusJob.NEAR_DUP), "found against a re-signed existing document");
        assertEquals(3L, r3.details().get("minhash.computed"));
        assertEquals(2L, spark.read().format("delta").load(sigPath).count());
    }

    @Test
    void incrementalRunsReadOnlyNewFilesOfADirectory() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("incoming"));
        Files.writeString(
                dir.resolve("a.jsonl"), "{\"text\": \"first document here\"}\n{\"text\": \"second one here\"}\n");
        Files.writeString(dir.resolve("_SUCCESS"), ""); // Spark markers are not data
        PrepareConfig cfg = config(tmp.resolve("inc-lake").toString(), input("docs", dir, "jsonl", "text"));
        cfg.dedup.near.enabled = false;
        PrepareCorpusJob.Result r1 = PrepareCorpusJob.run(spark, cfg);
        assertEquals(2, r1.read());
        Files.writeString(dir.resolve("b.jsonl"), "{\"text\": \"third document arrives\"}\n");
        PrepareCorpusJob.Result r2 = PrepareCorpusJob.run(spark, cfg, "sched-2");
        assertEquals("sched-2", r2.runId());
        assertEquals(1, r2.read());
        assertEquals(1, r2.count(PrepareCorpusJob.KEPT));
        assertEquals(
                3,
                spark.read()
                        .format("delta")
                        .load(new LakePaths(cfg.lake.root).table(LakePaths.CORPUS_CLEAN))
                        .count());
        // the scheduler retries run sched-2: the same run, its record replaced, nothing read twice
        assertEquals("nothing_new", PrepareCorpusJob.run(spark, cfg, "sched-2").status());
        Dataset<Row> runs = spark.read()
                .format("delta")
                .load(new LakePaths(cfg.lake.root).table(LakePaths.JOB_RUNS))
                .where("job = '01_prepare_corpus'");
        assertEquals(2, runs.count());
        assertEquals("nothing_new", runs.where("run_id = 'sched-2'").first().getAs("status"));
    }

    @Test
    void configAndMappingErrorsFailBeforeAnyWork() throws IOException {
        Path file = Files.writeString(tmp.resolve("rows.jsonl"), "{\"body\": \"some text\"}\n");
        String lake = tmp.resolve("never").toString();
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> PrepareCorpusJob.run(spark, config(lake, input("rows", file, "jsonl", "text"))));
        assertTrue(
                e.getMessage().contains("inputs[0].columns.text")
                        && e.getMessage().contains("[body]"),
                e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> PrepareCorpusJob.run(spark, config(lake, input("rows", file, "xml", "text"))));
        assertTrue(e.getMessage().contains("inputs[0].format") && e.getMessage().contains("xml"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> PrepareCorpusJob.run(
                        spark, config(lake, input("rows", tmp.resolve("missing.jsonl"), "jsonl", "text"))));
        assertTrue(
                e.getMessage().contains("missing.jsonl") && e.getMessage().contains("inputs[].path"), e.getMessage());
        e = assertThrows(
                IllegalArgumentException.class,
                () -> io.lakelora.config.ConfigLoader.load(
                        List.of(io.lakelora.jobs.testing.Confs.conf("01_prepare_corpus.yaml")),
                        List.of("dedup.near.treshold=0.9"),
                        PrepareConfig.class));
        assertTrue(e.getMessage().contains("treshold"), e.getMessage());
        assertTrue(!Files.exists(tmp.resolve("never")), "no table was written");
    }

    @Test
    void transformsRunOnInlineRows() {
        Dataset<Row> raw = spark.createDataFrame(
                List.of(
                        RowFactory.create("n", "f", 1L, "jsonl", "{\"text\": \"Ｍail me at a@b.io ok\"}", null, null),
                        RowFactory.create("n", "f", 2L, "jsonl", "{\"text\": 5}", null, null)),
                CorpusReader.RAW);
        PrepareConfig.Input in = new PrepareConfig.Input();
        in.name = "n";
        in.format = "jsonl";
        in.shape = "text";
        PrepareConfig cfg = new PrepareConfig();
        List<Row> rows = PrepareCorpusJob.clean(PrepareCorpusJob.extract(raw, Map.of("n", in)), cfg)
                .orderBy("source_row")
                .collectAsList();
        assertEquals("Mail me at [EMAIL] ok", rows.get(0).getAs("text"));
        assertNull(rows.get(0).getAs("reason"));
        assertEquals(
                1,
                rows.get(0)
                        .<String, Integer>getJavaMap(rows.get(0).fieldIndex("pii_counts"))
                        .get("email"));
        assertEquals("wrong_type", rows.get(1).getAs("reason"));
        assertTrue(((String) rows.get(1).getAs("detail")).contains("number"), (String)
                rows.get(1).getAs("detail"));
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> PrepareCorpusJob.extract(raw.drop("raw"), Map.of("n", in)));
        assertTrue(e.getMessage().contains("missing column 'raw'"), e.getMessage());
    }
}
