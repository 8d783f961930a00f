package io.lakelora.jobs.prepare;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.monotonically_increasing_id;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.to_json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.jobs.common.ProcessedFiles.InputFile;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Extract step of job 01: lists an input's files on its Hadoop file system and reads them into raw rows with lineage,
 * one schema for every format ({@link #RAW}): the source name, file, row number (1-based line of a JSONL or text file,
 * element of a JSON array, document of a separated text file, record of a CSV/Parquet/Delta file) and the row as read.
 * Text, JSONL and JSON files are read as bytes so that invalid UTF-8 and oversized rows are caught per row
 * ({@code read_error}); CSV, Parquet and Delta rows go through Spark's readers and become JSON text. Blank lines and
 * blank separated pieces are not rows (the row numbers still count them, so they stay line/piece numbers).
 */
public final class CorpusReader {
    /** Raw rows: {@code raw} is the row as read (text, or JSON of the row); {@code read_error} a quarantine reason. */
    public static final StructType RAW = new StructType()
            .add("source", DataTypes.StringType, false)
            .add("source_file", DataTypes.StringType, false)
            .add("source_row", DataTypes.LongType, false)
            .add("source_format", DataTypes.StringType, false)
            .add("raw", DataTypes.StringType, true)
            .add("read_error", DataTypes.StringType, true)
            .add("detail", DataTypes.StringType, true);

    public static final String INVALID_UTF8 = "invalid_utf8";
    public static final String ROW_TOO_LARGE = "row_too_large";
    public static final String MALFORMED_JSON = "malformed_json";

    private CorpusReader() {}

    /**
     * The data files of an input: the file itself, every file under a directory (recursively; names starting with
     * {@code _} or {@code .} skipped, as Spark does), or the matches of a glob. A Delta table is one entry whose
     * "modification time" is its current version. Fails naming the path when nothing is there.
     */
    public static List<InputFile> list(SparkSession spark, PrepareConfig.Input in) {
        Configuration hc = spark.sparkContext().hadoopConfiguration();
        String location = io.lakelora.jobs.common.LakePaths.toUri(in.path);
        Path p = new Path(location);
        try {
            FileSystem fs = p.getFileSystem(hc);
            if (in.format.equals("delta")) {
                if (!io.lakelora.jobs.common.Delta.exists(spark, location)) {
                    throw new IllegalArgumentException(
                            "input '" + in.name + "': " + location + " is not a Delta table. "
                                    + "Fix: point inputs[].path at a Delta table directory or change inputs[].format");
                }
                return List.of(new InputFile(location, 0, io.lakelora.jobs.common.Delta.version(spark, location)));
            }
            List<InputFile> out = new ArrayList<>();
            FileStatus[] matches = fs.globStatus(p);
            if (matches == null || matches.length == 0) {
                throw new IllegalArgumentException("input '" + in.name + "': nothing at " + location
                        + ". Fix: correct inputs[].path (relative paths are resolved against the working directory)");
            }
            for (FileStatus st : matches) {
                if (st.isFile()) {
                    out.add(new InputFile(st.getPath().toString(), st.getLen(), st.getModificationTime()));
                } else {
                    RemoteIterator<LocatedFileStatus> it = fs.listFiles(st.getPath(), true);
                    while (it.hasNext()) {
                        LocatedFileStatus f = it.next();
                        if (hidden(f.getPath(), st.getPath())) continue;
                        out.add(new InputFile(f.getPath().toString(), f.getLen(), f.getModificationTime()));
                    }
                }
            }
            out.sort((a, b) -> a.path().compareTo(b.path()));
            return out;
        } catch (FileNotFoundException e) {
            throw new IllegalArgumentException(
                    "input '" + in.name + "': " + location + " not found. Fix: correct " + "inputs[].path", e);
        } catch (IOException e) {
            throw new UncheckedIOException("listing input '" + in.name + "' at " + location, e);
        }
    }

    private static boolean hidden(Path file, Path root) {
        for (Path q = file; q != null && !q.equals(root); q = q.getParent()) {
            String n = q.getName();
            if (n.startsWith("_") || n.startsWith(".")) return true;
        }
        return false;
    }

    /**
     * Checks the column mapping against the data before any work: the first row of the first file (JSON/JSONL) or
     * the reader's schema (CSV/Parquet/Delta) must have every mapped field of the input's shape. Fails naming the
     * config key, the fields found and the fix. Single rows missing a field later are quarantined instead.
     */
    public static void preflight(SparkSession spark, PrepareConfig.Input in, int index, List<InputFile> files) {
        if (files.isEmpty() || in.format.equals("text")) return;
        List<String[]> needed = new ArrayList<>(); // {config key, path}
        String k = "inputs[" + index + "].columns.";
        switch (in.shape) {
            case "text" -> needed.add(new String[] {k + "text", in.columns.text});
            case "alpaca" -> {
                needed.add(new String[] {k + "instruction", in.columns.instruction});
                needed.add(new String[] {k + "output", in.columns.output});
            }
            default -> needed.add(new String[] {k + "messages", in.columns.messages});
        }
        List<String> found;
        JsonNode first = null;
        if (in.format.equals("json") || in.format.equals("jsonl")) {
            first = firstJsonRow(spark, in, files.get(0).path());
            if (first == null || !first.isObject()) return; // the row-level checks will quarantine it
            found = new ArrayList<>();
            first.fieldNames().forEachRemaining(found::add);
        } else {
            Dataset<Row> df = in.format.equals("delta")
                    ? spark.read().format("delta").load(files.get(0).path())
                    : spark.read()
                            .format(in.format)
                            .options(in.options)
                            .load(files.get(0).path());
            found = List.of(df.columns());
        }
        for (String[] n : needed) {
            String top = n[1].split("[.\\[]")[0];
            boolean ok = first != null ? RowExtractor.at(first, n[1]) != null : found.contains(top);
            if (!ok) {
                throw new IllegalArgumentException("input '" + in.name + "' ("
                        + files.get(0).path() + "): config key '"
                        + n[0] + "' names field '" + n[1] + "', which the " + (first != null ? "first row" : "schema")
                        + " does not have; it has " + found + ". Fix: set " + n[0] + " to one of these, or change "
                        + "inputs[" + index + "].shape (now " + in.shape + ")");
            }
        }
    }

    private static JsonNode firstJsonRow(SparkSession spark, PrepareConfig.Input in, String file) {
        Path p = new Path(file);
        try (java.io.InputStream is =
                p.getFileSystem(spark.sparkContext().hadoopConfiguration()).open(p)) {
            byte[] head = is.readNBytes(1 << 20);
            String text = new String(head, StandardCharsets.UTF_8);
            ObjectMapper json = new ObjectMapper();
            if (in.format.equals("jsonl")) {
                for (String line : text.split("\n")) {
                    if (line.isBlank()) continue;
                    try {
                        return json.readTree(line);
                    } catch (JsonProcessingException e) {
                        return null;
                    }
                }
                return null;
            }
            try (com.fasterxml.jackson.core.JsonParser parser =
                    json.getFactory().createParser(head)) {
                if (parser.nextToken() == com.fasterxml.jackson.core.JsonToken.START_ARRAY) {
                    if (parser.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) return null;
                }
                return json.readTree(parser);
            } catch (IOException e) {
                return null;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading the first row of " + file, e);
        }
    }

    /** Reads the given files of one input into {@link #RAW} rows. */
    public static Dataset<Row> read(
            SparkSession spark, PrepareConfig.Input in, List<InputFile> files, int maxRowChars) {
        if (files.isEmpty()) return spark.createDataFrame(List.of(), RAW);
        String[] paths = files.stream().map(InputFile::path).toArray(String[]::new);
        switch (in.format) {
            case "text":
            case "jsonl":
            case "json": {
                Dataset<Row> bytes =
                        spark.read().format("binaryFile").load(paths).select("path", "content");
                return bytes.flatMap(
                        new ByteSplitter(in.name, in.format, in.textSplit, in.separator, maxRowChars),
                        Encoders.row(RAW));
            }
            case "csv":
            case "parquet": {
                Dataset<Row> df =
                        spark.read().format(in.format).options(in.options).load(paths);
                return tabular(df, in);
            }
            case "delta":
                throw new IllegalStateException("Delta inputs are read by readDelta");
            default:
                throw new IllegalArgumentException("input '" + in.name + "': unknown format '" + in.format + "'");
        }
    }

    /**
     * Rows of a Delta table input: the whole snapshot at {@code version}, or with {@code sinceVersion >= 0} only the
     * rows inserted or updated after that version (its change data feed, which the table must have enabled). Lineage:
     * {@code source_file} is {@code <table>@v<version>}, {@code source_row} a position unique within that read.
     */
    public static Dataset<Row> readDelta(
            SparkSession spark, PrepareConfig.Input in, String location, long version, long sinceVersion) {
        Dataset<Row> df;
        if (sinceVersion >= 0) {
            try {
                df = spark.read()
                        .format("delta")
                        .options(in.options)
                        .option("readChangeFeed", "true")
                        .option("startingVersion", sinceVersion + 1)
                        .option("endingVersion", version)
                        .load(location)
                        .where(col("_change_type").isin("insert", "update_postimage"))
                        .drop("_change_type", "_commit_version", "_commit_timestamp");
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(
                        "input '" + in.name + "': incremental read of Delta table " + location
                                + " needs its change data feed (" + e.getMessage()
                                + "). Fix: ALTER TABLE ... SET TBLPROPERTIES "
                                + "(delta.enableChangeDataFeed = true), or run with mode=full",
                        e);
            }
        } else {
            df = spark.read()
                    .format("delta")
                    .options(in.options)
                    .option("versionAsOf", version)
                    .load(location);
        }
        Column[] cols = java.util.Arrays.stream(df.columns())
                .map(c -> col("`" + c + "`"))
                .toArray(Column[]::new);
        return df.select(
                lit(in.name).as("source"),
                lit(location + "@v" + version).as("source_file"),
                monotonically_increasing_id().plus(1).as("source_row"),
                lit(in.format).as("source_format"),
                to_json(struct(cols)).as("raw"),
                lit(null).cast(DataTypes.StringType).as("read_error"),
                lit(null).cast(DataTypes.StringType).as("detail"));
    }

    /** Rows of a columnar reader: JSON of all columns; row number from the file split order and the row order in it. */
    static Dataset<Row> tabular(Dataset<Row> df, PrepareConfig.Input in) {
        Column[] cols = java.util.Arrays.stream(df.columns())
                .map(c -> col("`" + c + "`"))
                .toArray(Column[]::new);
        Dataset<Row> withMeta = df.select(
                col("_metadata.file_path").as("source_file"),
                col("_metadata.file_block_start").as("_block"),
                monotonically_increasing_id().as("_order"),
                to_json(struct(cols)).as("raw"));
        return withMeta.withColumn(
                        "source_row",
                        row_number()
                                .over(Window.partitionBy("source_file").orderBy("_block", "_order"))
                                .cast(DataTypes.LongType))
                .select(
                        lit(in.name).as("source"),
                        col("source_file"),
                        col("source_row"),
                        lit(in.format).as("source_format"),
                        col("raw"),
                        lit(null).cast(DataTypes.StringType).as("read_error"),
                        lit(null).cast(DataTypes.StringType).as("detail"));
    }

    /** Splits a file's bytes into rows: lines (JSONL, text per line), separated documents, JSON array elements. */
    static final class ByteSplitter implements FlatMapFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private static final ObjectMapper JSON = new ObjectMapper();
        private final String source;
        private final String format;
        private final String textSplit;
        private final String separator;
        private final int maxRowChars;

        ByteSplitter(String source, String format, String textSplit, String separator, int maxRowChars) {
            this.source = source;
            this.format = format;
            this.textSplit = textSplit;
            this.separator = separator;
            this.maxRowChars = maxRowChars;
        }

        @Override
        public Iterator<Row> call(Row file) {
            String path = file.getString(0);
            byte[] content = file.getAs(1);
            List<Row> out = new ArrayList<>();
            if (format.equals("json")) {
                json(path, content, out);
            } else if (format.equals("jsonl") || textSplit.equals("line")) {
                List<byte[]> lines = split(content, new byte[] {'\n'});
                for (int i = 0; i < lines.size(); i++) {
                    byte[] line = stripCr(lines.get(i));
                    if (isBlank(line)) continue; // blank lines are not rows (row numbers stay line numbers)
                    out.add(piece(path, i + 1, line));
                }
            } else if (textSplit.equals("separator")) {
                List<byte[]> docs = split(content, separator.getBytes(StandardCharsets.UTF_8));
                for (int i = 0; i < docs.size(); i++) {
                    if (isBlank(docs.get(i))) continue; // blank pieces are not documents
                    out.add(piece(path, i + 1, docs.get(i)));
                }
            } else {
                out.add(piece(path, 1, content));
            }
            return out.iterator();
        }

        private Row piece(String path, long row, byte[] bytes) {
            if (bytes.length > 4L * maxRowChars)
                return row(path, row, lossy(bytes, maxRowChars), ROW_TOO_LARGE, bytes.length + " bytes");
            String text;
            try {
                text = strict(bytes);
            } catch (CharacterCodingException e) {
                return row(path, row, lossy(bytes, maxRowChars), INVALID_UTF8, "not valid UTF-8: " + e);
            }
            if (text.length() > maxRowChars) {
                return row(
                        path,
                        row,
                        text.substring(0, maxRowChars),
                        ROW_TOO_LARGE,
                        text.length() + " characters, " + "max_row_chars is " + maxRowChars);
            }
            return row(path, row, text, null, null);
        }

        private void json(String path, byte[] content, List<Row> out) {
            String text;
            try {
                text = strict(content);
            } catch (CharacterCodingException e) {
                out.add(row(path, 1, lossy(content, maxRowChars), INVALID_UTF8, "not valid UTF-8: " + e));
                return;
            }
            JsonNode root;
            try {
                root = JSON.readTree(text);
            } catch (JsonProcessingException e) {
                out.add(row(
                        path,
                        1,
                        text.substring(0, Math.min(text.length(), maxRowChars)),
                        MALFORMED_JSON,
                        "the file is not one JSON document: " + e.getOriginalMessage()));
                return;
            }
            if (root != null && root.isArray()) {
                for (int i = 0; i < root.size(); i++) {
                    String el = root.get(i).toString();
                    if (el.length() > maxRowChars) {
                        out.add(row(
                                path, i + 1, el.substring(0, maxRowChars), ROW_TOO_LARGE, el.length() + " characters"));
                    } else {
                        out.add(row(path, i + 1, el, null, null));
                    }
                }
            } else {
                out.add(row(path, 1, root == null ? "" : root.toString(), null, null));
            }
        }

        private Row row(String path, long n, String raw, String error, String detail) {
            return RowFactory.create(source, path, n, format, raw, error, detail);
        }
    }

    static String strict(byte[] b) throws CharacterCodingException {
        return StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(b))
                .toString();
    }

    static String lossy(byte[] b, int maxChars) {
        String s = new String(b, 0, (int) Math.min(b.length, 4L * maxChars), StandardCharsets.UTF_8);
        return s.length() > maxChars ? s.substring(0, maxChars) : s;
    }

    static List<byte[]> split(byte[] data, byte[] sep) {
        List<byte[]> out = new ArrayList<>();
        int start = 0;
        outer:
        for (int i = 0; i + sep.length <= data.length; i++) {
            for (int j = 0; j < sep.length; j++) if (data[i + j] != sep[j]) continue outer;
            out.add(java.util.Arrays.copyOfRange(data, start, i));
            start = i + sep.length;
            i = start - 1;
        }
        out.add(java.util.Arrays.copyOfRange(data, start, data.length));
        return out;
    }

    private static byte[] stripCr(byte[] line) {
        return line.length > 0 && line[line.length - 1] == '\r' ? java.util.Arrays.copyOf(line, line.length - 1) : line;
    }

    private static boolean isBlank(byte[] b) {
        for (byte x : b) if (x != ' ' && x != '\t' && x != '\r' && x != '\n') return false;
        return true;
    }
}
