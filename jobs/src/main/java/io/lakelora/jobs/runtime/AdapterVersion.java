package io.lakelora.jobs.runtime;

import java.io.Serializable;
import java.util.List;
import org.apache.spark.sql.Row;

/**
 * One adapter version as read from the registry ({@link io.lakelora.jobs.registry.AdapterRegistry#resolve}): the
 * columns the export, evaluation and serving code need, with null-safe access (a nullable numeric column reads as NaN
 * or null, never as a ClassCastException).
 */
public record AdapterVersion(
        String name,
        int version,
        String runId,
        String baseModelId,
        String baseModelSha256,
        String datasetTable,
        Long datasetVersion,
        String configJson,
        double trainLoss,
        double evalLoss,
        long tokens,
        long steps,
        double wallSeconds,
        byte[] adapterSafetensors,
        String adapterConfigJson,
        String peftPath)
        implements Serializable {

    /** {@code name@version}, as users write it. */
    public String ref() {
        return name + "@" + version;
    }

    public static AdapterVersion of(Row r) {
        return new AdapterVersion(
                r.getAs("adapter_name"),
                r.<Integer>getAs("version"),
                r.getAs("run_id"),
                r.getAs("base_model_id"),
                r.getAs("base_model_sha256"),
                r.getAs("dataset_table"),
                r.getAs("dataset_version"),
                r.getAs("config_json"),
                dbl(r, "train_loss"),
                dbl(r, "eval_loss"),
                lng(r, "tokens"),
                lng(r, "steps"),
                dbl(r, "wall_seconds"),
                r.getAs("adapter_safetensors"),
                r.getAs("adapter_config_json"),
                r.getAs("peft_path"));
    }

    /** The target modules recorded on the row ({@code target_modules}), for messages. */
    public static List<String> targetModules(Row r) {
        int i = r.fieldIndex("target_modules");
        return r.isNullAt(i) ? List.of() : r.getList(i);
    }

    /** Fails unless the row holds both PEFT files; the message names the version and the fix. */
    public void requireWeights() {
        if (adapterSafetensors == null
                || adapterSafetensors.length == 0
                || adapterConfigJson == null
                || adapterConfigJson.isBlank()) {
            throw new IllegalArgumentException("adapter " + ref() + " has no adapter weights in the registry "
                    + "(adapter_safetensors "
                    + (adapterSafetensors == null ? "null" : adapterSafetensors.length + " bytes")
                    + ", adapter_config_json " + (adapterConfigJson == null ? "null" : "present")
                    + "). Fix: register the version again from its training run (job 03)");
        }
    }

    private static double dbl(Row r, String col) {
        int i = r.fieldIndex(col);
        return r.isNullAt(i) ? Double.NaN : r.getDouble(i);
    }

    private static long lng(Row r, String col) {
        int i = r.fieldIndex(col);
        return r.isNullAt(i) ? 0L : r.getLong(i);
    }
}
