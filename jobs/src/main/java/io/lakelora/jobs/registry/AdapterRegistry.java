package io.lakelora.jobs.registry;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.max;

import io.delta.tables.DeltaTable;
import io.lakelora.jobs.common.Delta;
import io.lakelora.jobs.common.LakePaths;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.ConcurrentModificationException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The Delta adapter registry: one row per adapter version with its lineage, resolved config, metrics and weights,
 * plus an alias table ({@code staging}, {@code production}, ...) and an append-only evaluation table.
 *
 * <p>Versions are allocated with Delta's optimistic concurrency: read the next free version, then an insert-only MERGE
 * keyed on (name, version) or (name, run_id). A concurrent registration makes the MERGE fail with a
 * {@link ConcurrentModificationException} (or insert nothing); the registration then re-reads and retries, so two jobs
 * registering at once get distinct, consecutive versions and no write is lost. Registering a run id that is already in
 * the table returns the existing version (reruns register nothing new). Tables are created with
 * {@code delta.isolationLevel = Serializable}.
 */
public final class AdapterRegistry {
    public static final StructType SCHEMA = new StructType()
            .add("adapter_name", DataTypes.StringType, false)
            .add("version", DataTypes.IntegerType, false)
            .add("run_id", DataTypes.StringType, false)
            .add("created_at", DataTypes.TimestampType, false)
            .add("status", DataTypes.StringType, false)
            .add("base_model_id", DataTypes.StringType, true)
            .add("base_model_sha256", DataTypes.StringType, true)
            .add("dataset_table", DataTypes.StringType, true)
            .add("dataset_version", DataTypes.LongType, true)
            .add("config_json", DataTypes.StringType, true)
            .add("lora_r", DataTypes.IntegerType, true)
            .add("lora_alpha", DataTypes.DoubleType, true)
            .add("target_modules", DataTypes.createArrayType(DataTypes.StringType), true)
            .add("train_loss", DataTypes.DoubleType, true)
            .add("eval_loss", DataTypes.DoubleType, true)
            .add("perplexity", DataTypes.DoubleType, true)
            .add("tokens", DataTypes.LongType, true)
            .add("steps", DataTypes.LongType, true)
            .add("wall_seconds", DataTypes.DoubleType, true)
            .add("adapter_safetensors", DataTypes.BinaryType, true)
            .add("adapter_config_json", DataTypes.StringType, true)
            .add("peft_path", DataTypes.StringType, true);

    public static final StructType ALIAS_SCHEMA = new StructType()
            .add("adapter_name", DataTypes.StringType, false)
            .add("alias", DataTypes.StringType, false)
            .add("version", DataTypes.IntegerType, false)
            .add("updated_at", DataTypes.TimestampType, false);

    public static final StructType EVAL_SCHEMA = new StructType()
            .add("adapter_name", DataTypes.StringType, false)
            .add("version", DataTypes.IntegerType, false)
            .add("evaluated_at", DataTypes.TimestampType, false)
            .add("dataset_table", DataTypes.StringType, true)
            .add("dataset_version", DataTypes.LongType, true)
            .add("eval_loss", DataTypes.DoubleType, true)
            .add("perplexity", DataTypes.DoubleType, true)
            .add("tokens", DataTypes.LongType, true)
            .add("samples_json", DataTypes.StringType, true);

    /** The outcome of a registration. {@code created} is false when the run id was already registered. */
    public record Registered(String adapterName, int version, boolean created, int attempts) {}

    private final SparkSession spark;
    private final String adaptersPath;
    private final String aliasesPath;
    private final String evalsPath;
    private final int maxAttempts;

    /** @param registryRoot a Hadoop path (file:, s3a:, abfs:, dbfs:) under which the three tables live */
    public AdapterRegistry(SparkSession spark, String registryRoot) {
        this(spark, registryRoot, 20);
    }

    public AdapterRegistry(SparkSession spark, String registryRoot, int maxAttempts) {
        this.spark = spark;
        // qualified the way Delta records locations (file:///x -> file:/x), so CREATE ... LOCATION matches the log
        String root = new org.apache.hadoop.fs.Path(registryRoot).toString();
        this.adaptersPath = root + "/adapters";
        this.aliasesPath = root + "/adapter_aliases";
        this.evalsPath = root + "/adapter_evals";
        this.maxAttempts = maxAttempts;
    }

    public String adaptersPath() {
        return adaptersPath;
    }

    public String aliasesPath() {
        return aliasesPath;
    }

    public String evalsPath() {
        return evalsPath;
    }

    /** Creates the three tables if they do not exist (idempotent, safe to race). */
    public void ensureTables() {
        create(adaptersPath, SCHEMA);
        create(aliasesPath, ALIAS_SCHEMA);
        create(evalsPath, EVAL_SCHEMA);
    }

    private void create(String path, StructType schema) {
        for (int attempt = 1; ; attempt++) {
            try {
                DeltaTable.createIfNotExists(spark)
                        .location(path)
                        .addColumns(schema)
                        .property("delta.isolationLevel", "Serializable")
                        .execute();
                return;
            } catch (RuntimeException e) { // a concurrent creator won (conflict or "already exists")
                if (attempt >= maxAttempts)
                    throw new IllegalStateException("could not create registry table " + path, e);
                if (DeltaTable.isDeltaTable(spark, path)) return;
                backoff(attempt);
            }
        }
    }

    /** Registers a new version (or returns the existing one for the same run id). */
    public Registered register(AdapterRecord rec) {
        requireName(rec.adapterName());
        ensureTables();
        for (int attempt = 1; attempt <= maxAttempts; attempt++) {
            Dataset<Row> table = spark.read()
                    .format("delta")
                    .load(adaptersPath)
                    .filter(col("adapter_name").equalTo(rec.adapterName()));
            Optional<Integer> existing = versionOfRun(table, rec.runId());
            if (existing.isPresent()) return new Registered(rec.adapterName(), existing.get(), false, attempt);
            Row maxRow = table.agg(max("version")).first();
            int next = maxRow.isNullAt(0) ? 1 : maxRow.getInt(0) + 1;
            Dataset<Row> src = spark.createDataFrame(List.of(toRow(rec, next)), SCHEMA);
            try {
                DeltaTable.forPath(spark, adaptersPath)
                        .as("t")
                        .merge(
                                src.as("s"),
                                "t.adapter_name = s.adapter_name AND (t.version = s.version OR t.run_id = s.run_id)")
                        .whenNotMatched()
                        .insertAll()
                        .execute();
            } catch (ConcurrentModificationException e) {
                backoff(attempt);
                continue;
            }
            Optional<Integer> mine = versionOfRun(
                    spark.read()
                            .format("delta")
                            .load(adaptersPath)
                            .filter(col("adapter_name").equalTo(rec.adapterName())),
                    rec.runId());
            if (mine.isPresent()) return new Registered(rec.adapterName(), mine.get(), mine.get() == next, attempt);
            backoff(attempt);
        }
        throw new IllegalStateException("registry " + adaptersPath + ": could not allocate a version for '"
                + rec.adapterName() + "' after " + maxAttempts + " attempts (too many concurrent registrations). "
                + "Fix: rerun the job; the run id makes the retry idempotent");
    }

    private static Optional<Integer> versionOfRun(Dataset<Row> table, String runId) {
        List<Row> rows =
                table.filter(col("run_id").equalTo(runId)).select("version").collectAsList();
        return rows.isEmpty() ? Optional.empty() : Optional.of(rows.get(0).getInt(0));
    }

    /** The registry root of a lake: {@code <lake.root>/registry}. */
    public static String rootOf(String lakeRoot) {
        return new LakePaths(lakeRoot).root() + "/registry";
    }

    /**
     * Points {@code alias} (e.g. production) of an adapter at a version; the version must exist, and the alias may not
     * be {@code latest} or all digits (those already mean the highest version and a version number in
     * {@code name@REF}).
     */
    public void setAlias(String adapterName, String alias, int version) {
        requireAliasName(alias);
        get(adapterName, version)
                .orElseThrow(() -> new IllegalArgumentException("cannot set alias '" + alias + "': adapter "
                        + adapterName + "@" + version + " is not in " + adaptersPath));
        Dataset<Row> src = spark.createDataFrame(
                List.of(RowFactory.create(adapterName, alias, version, Timestamp.from(Instant.now()))), ALIAS_SCHEMA);
        for (int attempt = 1; ; attempt++) {
            try {
                DeltaTable.forPath(spark, aliasesPath)
                        .as("t")
                        .merge(src.as("s"), "t.adapter_name = s.adapter_name AND t.alias = s.alias")
                        .whenMatched()
                        .updateAll()
                        .whenNotMatched()
                        .insertAll()
                        .execute();
                return;
            } catch (ConcurrentModificationException e) {
                if (attempt >= maxAttempts) throw e;
                backoff(attempt);
            }
        }
    }

    /** The row of {@code name@version}. */
    public Optional<Row> get(String adapterName, int version) {
        List<Row> rows = spark.read()
                .format("delta")
                .load(adaptersPath)
                .filter(col("adapter_name")
                        .equalTo(adapterName)
                        .and(col("version").equalTo(version)))
                .collectAsList();
        return rows.isEmpty() ? Optional.empty() : Optional.of(rows.get(0));
    }

    /**
     * Resolves {@code name@3}, {@code name@production} (an alias) or {@code name} / {@code name@latest} (the highest
     * version) to a registry row; errors name the reference and what exists.
     */
    public Row resolve(String ref) {
        int at = ref.indexOf('@');
        String name = at < 0 ? ref : ref.substring(0, at);
        String sel = at < 0 ? "latest" : ref.substring(at + 1);
        if (!DeltaTable.isDeltaTable(spark, adaptersPath)) {
            throw new IllegalArgumentException("no adapter registry at " + adaptersPath
                    + ". Fix: train an adapter first (job 03) or point lake.root at the right lake");
        }
        Dataset<Row> byName = spark.read()
                .format("delta")
                .load(adaptersPath)
                .filter(col("adapter_name").equalTo(name));
        Integer version;
        if (sel.equals("latest")) {
            Row m = byName.agg(max("version")).first();
            version = m.isNullAt(0) ? null : m.getInt(0);
        } else if (sel.chars().allMatch(Character::isDigit) && !sel.isEmpty()) {
            version = Integer.parseInt(sel);
        } else {
            List<Row> a = spark.read()
                    .format("delta")
                    .load(aliasesPath)
                    .filter(col("adapter_name").equalTo(name).and(col("alias").equalTo(sel)))
                    .select("version")
                    .collectAsList();
            version = a.isEmpty() ? null : a.get(0).getInt(0);
            if (version == null) {
                throw new IllegalArgumentException("adapter '" + ref + "': no alias '" + sel + "' for '" + name
                        + "'. Fix: use name@VERSION, name@latest, or set the alias first");
            }
        }
        if (version == null) {
            throw new IllegalArgumentException(
                    "adapter '" + ref + "': no versions of '" + name + "' in " + adaptersPath);
        }
        final int v = version;
        return get(name, v)
                .orElseThrow(() -> new IllegalArgumentException("adapter '" + ref + "': version " + v + " of '" + name
                        + "' does not exist in " + adaptersPath));
    }

    /**
     * Records an evaluation of a version, keyed by (adapter, version, dataset table, dataset version): evaluating the
     * same adapter version on the same dataset version again (a retried or rerun evaluate job) replaces that row
     * instead of adding a duplicate; another dataset version adds a row.
     */
    public void recordEval(
            String adapterName,
            int version,
            String datasetTable,
            long datasetVersion,
            double evalLoss,
            long tokens,
            String samplesJson) {
        Row r = RowFactory.create(
                adapterName,
                version,
                Timestamp.from(Instant.now()),
                datasetTable,
                datasetVersion,
                evalLoss,
                Math.exp(evalLoss),
                tokens,
                samplesJson);
        Dataset<Row> df = spark.createDataFrame(List.of(r), EVAL_SCHEMA);
        if (!Delta.exists(spark, evalsPath)) {
            df.write().format("delta").mode("append").save(evalsPath);
            return;
        }
        DeltaTable.forPath(spark, evalsPath)
                .as("t")
                .merge(
                        df.as("s"),
                        "t.adapter_name = s.adapter_name AND t.version = s.version"
                                + " AND t.dataset_table <=> s.dataset_table AND t.dataset_version <=> s.dataset_version")
                .whenMatched()
                .updateAll()
                .whenNotMatched()
                .insertAll()
                .execute();
    }

    /** All versions of an adapter (without the weight bytes), ordered by version. */
    public List<Row> versions(String adapterName) {
        return new ArrayList<>(spark.read()
                .format("delta")
                .load(adaptersPath)
                .filter(col("adapter_name").equalTo(adapterName))
                .drop("adapter_safetensors")
                .orderBy("version")
                .collectAsList());
    }

    private static Row toRow(AdapterRecord r, int version) {
        return RowFactory.create(
                r.adapterName(),
                version,
                r.runId(),
                Timestamp.from(Instant.now()),
                "registered",
                r.baseModelId(),
                r.baseModelSha256(),
                r.datasetTable(),
                r.datasetVersion(),
                r.configJson(),
                r.loraR(),
                r.loraAlpha(),
                r.targetModules(),
                r.trainLoss(),
                r.evalLoss(),
                r.perplexity(),
                r.tokens(),
                r.steps(),
                r.wallSeconds(),
                r.adapterSafetensors(),
                r.adapterConfigJson(),
                r.peftPath());
    }

    /** Fails unless {@code alias} is a valid name that {@link #resolve} would read as an alias. */
    public static void requireAliasName(String alias) {
        requireName(alias);
        if (alias.equalsIgnoreCase("latest")) {
            throw new IllegalArgumentException(
                    "alias '" + alias + "' is reserved: NAME@latest always means the highest "
                            + "version. Fix: choose another alias name, e.g. production or staging");
        }
        if (alias.chars().allMatch(Character::isDigit)) {
            throw new IllegalArgumentException("alias '" + alias + "' is all digits, but NAME@" + alias + " means "
                    + "version " + alias + ". Fix: choose a name with a letter, e.g. v" + alias + " or production");
        }
    }

    /** Whether the registry tables exist (a lake where no adapter was ever registered has none). */
    public boolean exists() {
        return DeltaTable.isDeltaTable(spark, adaptersPath);
    }

    /** Fails with the fix when the registry does not exist. */
    public void requireExists() {
        if (!exists()) {
            throw new IllegalArgumentException("no adapter registry at " + adaptersPath
                    + ". Fix: train an adapter first (job 03) or point lake.root at the right lake");
        }
    }

    /** The aliases of an adapter, alias -> version, ordered by alias (empty when none or no alias table). */
    public Map<String, Integer> aliases(String adapterName) {
        Map<String, Integer> out = new TreeMap<>();
        if (!DeltaTable.isDeltaTable(spark, aliasesPath)) return out;
        for (Row r : spark.read()
                .format("delta")
                .load(aliasesPath)
                .filter(col("adapter_name").equalTo(adapterName))
                .collectAsList()) {
            out.put(r.getAs("alias"), r.<Integer>getAs("version"));
        }
        return out;
    }

    /** The evaluations of {@code name@version} (adapter_evals rows), oldest first; empty when none. */
    public List<Row> evals(String adapterName, int version) {
        if (!DeltaTable.isDeltaTable(spark, evalsPath)) return List.of();
        return new ArrayList<>(spark.read()
                .format("delta")
                .load(evalsPath)
                .filter(col("adapter_name")
                        .equalTo(adapterName)
                        .and(col("version").equalTo(version)))
                .orderBy("evaluated_at")
                .collectAsList());
    }

    /** One row per adapter name: adapter_name, versions (count), latest (highest version), last_created_at. */
    public List<Row> adapters() {
        return new ArrayList<>(spark.read()
                .format("delta")
                .load(adaptersPath)
                .groupBy("adapter_name")
                .agg(
                        org.apache.spark.sql.functions.count("version").as("versions"),
                        max("version").as("latest"),
                        max("created_at").as("last_created_at"))
                .orderBy("adapter_name")
                .collectAsList());
    }

    private static void requireName(String name) {
        if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,127}")) {
            throw new IllegalArgumentException("invalid adapter name or alias '" + name
                    + "': expected letters, digits, '.', '_' or '-' (max 128), starting with a letter or digit");
        }
    }

    private static void backoff(int attempt) {
        try {
            Thread.sleep(50L * attempt + ThreadLocalRandom.current().nextInt(100));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while retrying a registry write", e);
        }
    }
}
