package io.lakelora.jobs.prepare;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.lakelora.jobs.common.CommonConfig;
import io.lakelora.text.PiiScrubber;
import io.lakelora.text.QualityFilters;
import io.lakelora.text.TextNormalizer;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Config of job 01 prepare corpus ({@code conf/01_prepare_corpus.yaml}). */
public class PrepareConfig extends CommonConfig {
    private static final long serialVersionUID = 1L;

    public static final List<String> MODES = List.of("incremental", "full");
    public static final List<String> FORMATS = List.of("text", "jsonl", "json", "csv", "parquet", "delta");
    public static final List<String> SHAPES = List.of("text", "alpaca", "chat");
    public static final List<String> TEXT_SPLITS = List.of("file", "line", "separator");

    /** incremental: only input files not in processed_files; full: every input file (MERGE still adds no duplicates). */
    @JsonProperty("mode")
    public String mode = "incremental";

    @JsonProperty("inputs")
    public List<Input> inputs = new ArrayList<>();
    /** Rows longer than this (characters) are quarantined as row_too_large before parsing. */
    @JsonProperty("max_row_chars")
    public int maxRowChars = 1_000_000;
    /** How much of a quarantined row is kept in corpus_quarantine.raw (characters). */
    @JsonProperty("quarantine_raw_chars")
    public int quarantineRawChars = 10_000;

    @JsonProperty("normalize")
    public TextNormalizer.Options normalize = new TextNormalizer.Options();

    @JsonProperty("filters")
    public QualityFilters.Options filters = new QualityFilters.Options();

    @JsonProperty("pii")
    public PiiScrubber.Options pii = new PiiScrubber.Options();

    @JsonProperty("dedup")
    public Dedup dedup = new Dedup();

    /** One corpus to read. */
    public static class Input implements Serializable {
        private static final long serialVersionUID = 1L;
        /** Short name stored with every row as {@code source}. */
        @JsonProperty("name")
        public String name;
        /** A file, a directory (read recursively) or a glob, on any Hadoop file system; or a Delta table path. */
        @JsonProperty("path")
        public String path;

        @JsonProperty("format")
        public String format;
        /** format text: one document per file, per line, or per separator. */
        @JsonProperty("text_split")
        public String textSplit = "file";

        @JsonProperty("separator")
        public String separator;
        /** Row shape of json/jsonl/csv/parquet/delta rows (text files are always shape text). */
        @JsonProperty("shape")
        public String shape = "text";

        @JsonProperty("columns")
        public Columns columns = new Columns();
        /** Extra Spark reader options (csv: header, delimiter, ...). */
        @JsonProperty("options")
        public Map<String, String> options = new LinkedHashMap<>();
    }

    /**
     * Where each field is in a row: a field name or a path such as {@code instances[0].input}. {@code role_map}
     * renames roles (ShareGPT's {@code human}/{@code gpt} to {@code user}/{@code assistant}).
     */
    public static class Columns implements Serializable {
        private static final long serialVersionUID = 1L;

        @JsonProperty("text")
        public String text = "text";

        @JsonProperty("instruction")
        public String instruction = "instruction";

        @JsonProperty("input")
        public String input = "input";

        @JsonProperty("output")
        public String output = "output";

        @JsonProperty("messages")
        public String messages = "messages";

        @JsonProperty("role")
        public String role = "role";

        @JsonProperty("content")
        public String content = "content";

        @JsonProperty("role_map")
        public Map<String, String> roleMap = new LinkedHashMap<>();
    }

    /**
     * Deduplication. Exact duplicates (same doc_id: SHA-256 of the normalized content, seen earlier in this run or
     * already in corpus_clean) are always removed, since doc_id is the table's key; near duplicates per {@code near}.
     */
    public static class Dedup implements Serializable {
        private static final long serialVersionUID = 1L;

        @JsonProperty("near")
        public Near near = new Near();
    }

    /**
     * MinHash LSH near-duplicate removal: Spark MLlib's MinHashLSH computes {@code num_hash_tables} MinHash values per
     * document over its hashed shingles; they are cut into bands of {@code band_rows} values, documents sharing a whole
     * band are candidates (probability 1 - (1 - s^r)^b for Jaccard similarity s, r rows, b bands), and candidates are
     * kept as duplicates only if their exact Jaccard similarity is >= {@code threshold}.
     */
    public static class Near implements Serializable {
        private static final long serialVersionUID = 1L;

        @JsonProperty("enabled")
        public boolean enabled = true;
        /** char (k-character shingles) or word (k-word shingles). */
        @JsonProperty("shingle")
        public String shingle = "char";

        @JsonProperty("shingle_size")
        public int shingleSize = 5;
        /** Jaccard similarity at or above which two documents are near duplicates. */
        @JsonProperty("threshold")
        public double threshold = 0.8;

        @JsonProperty("num_hash_tables")
        public int numHashTables = 32;

        @JsonProperty("band_rows")
        public int bandRows = 4;
        /** Hashed shingle space (HashingTF features); a power of two. */
        @JsonProperty("num_features")
        public int numFeatures = 1 << 20;

        @JsonProperty("seed")
        public long seed = 42;
    }

    /** Checks every setting; errors name the key and the fix. */
    public void validate() {
        validateCommon();
        oneOf("mode", mode, MODES);
        if (inputs == null || inputs.isEmpty()) {
            throw new IllegalArgumentException(
                    "config key 'inputs' is empty. Fix: list at least one input with name, path " + "and format");
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < inputs.size(); i++) {
            Input in = inputs.get(i);
            String k = "inputs[" + i + "]";
            if (in.name == null || !in.name.matches("[A-Za-z0-9_.-]+")) {
                throw new IllegalArgumentException("config key '" + k + ".name' is '" + in.name
                        + "', expected a short name of letters, digits, _ . -");
            }
            if (!names.add(in.name)) {
                throw new IllegalArgumentException("config key '" + k + ".name': '" + in.name + "' is used twice. Fix: "
                        + "give each input its own name");
            }
            if (in.path == null || in.path.isBlank()) {
                throw new IllegalArgumentException(
                        "config key '" + k + ".path' is empty. Fix: give a file, directory, " + "glob or table path");
            }
            oneOf(k + ".format", in.format, FORMATS);
            oneOf(k + ".shape", in.shape, SHAPES);
            oneOf(k + ".text_split", in.textSplit, TEXT_SPLITS);
            if (in.format.equals("text") && !in.shape.equals("text")) {
                throw new IllegalArgumentException("config key '" + k + ".shape' is '" + in.shape + "' but format text "
                        + "files hold plain documents. Fix: use shape text, or a json/jsonl/csv/parquet/delta format");
            }
            if (in.format.equals("text")
                    && in.textSplit.equals("separator")
                    && (in.separator == null || in.separator.isEmpty())) {
                throw new IllegalArgumentException("config key '" + k + ".separator' is empty but text_split is "
                        + "separator. Fix: give the separator, e.g. \"<|endoftext|>\"");
            }
            if (in.columns == null) in.columns = new Columns();
            if (in.options == null) in.options = new LinkedHashMap<>();
        }
        if (maxRowChars < 1) throw new IllegalArgumentException("config key 'max_row_chars' must be >= 1");
        if (quarantineRawChars < 0)
            throw new IllegalArgumentException("config key 'quarantine_raw_chars' must be >= 0");
        normalize.validate("normalize");
        filters.validate("filters");
        pii.validate("pii");
        Near n = dedup.near;
        oneOf("dedup.near.shingle", n.shingle, List.of("char", "word"));
        if (n.shingleSize < 1) throw new IllegalArgumentException("config key 'dedup.near.shingle_size' must be >= 1");
        if (!(n.threshold > 0 && n.threshold <= 1)) {
            throw new IllegalArgumentException("config key 'dedup.near.threshold' is " + n.threshold
                    + ", expected a Jaccard similarity in (0, 1], e.g. 0.8");
        }
        if (n.numHashTables < 1)
            throw new IllegalArgumentException("config key 'dedup.near.num_hash_tables' must be >= 1");
        if (n.bandRows < 1 || n.numHashTables % n.bandRows != 0) {
            throw new IllegalArgumentException("config key 'dedup.near.band_rows' is " + n.bandRows + ", expected a "
                    + "divisor of dedup.near.num_hash_tables (" + n.numHashTables + "), e.g. 4 for 32");
        }
        if (n.numFeatures < 1024 || Integer.bitCount(n.numFeatures) != 1) {
            throw new IllegalArgumentException("config key 'dedup.near.num_features' is " + n.numFeatures
                    + ", expected a power of two >= 1024, e.g. 1048576");
        }
    }

    static void oneOf(String key, String value, List<String> allowed) {
        if (value == null || !allowed.contains(value)) {
            throw new IllegalArgumentException("config key '" + key + "' is '" + value + "', expected one of " + allowed
                    + ". Fix: choose one of these");
        }
    }
}
