package io.lakelora.jobs.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.error.BadInputException;
import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.peft.PlainLoraExport;
import io.lakelora.util.Fields;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;

/**
 * A registry version's PEFT files written out: {@code adapter_config.json} and {@code adapter_model.safetensors}
 * exactly as stored in the registry (byte for byte), plus {@code lakelora_lineage.json}, written last. Used by job 04
 * (export), job 05 (evaluation loads the adapter on the driver) and the SQL serving functions. A version whose config
 * still names PiSSA/LoftQ is refused (it fits only its rewritten base; see {@code peft.PlainLoraExport}).
 */
public final class AdapterExport {
    public static final String LINEAGE_FILE = "lakelora_lineage.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private AdapterExport() {}

    /** What an export did; {@code written} is false when {@code dir} already held this version's files. */
    public record Result(
            String adapter,
            int version,
            @Fields.Key("status") boolean written,
            String dir,
            @Fields.Key("adapter_model_sha256") String weightsSha256,
            @Fields.Key("adapter_model_bytes") long weightsBytes) {
        public Map<String, Object> asMap() {
            Map<String, Object> m = Fields.of(this);
            m.put("status", written ? "exported" : "unchanged");
            return m;
        }
    }

    /**
     * Writes the PEFT files of {@code v} and its lineage to {@code dir} (a lake URI or local path), each file
     * atomically, the lineage last; does nothing when the lineage there already names this version and weights.
     */
    public static Result export(LakeFs fs, AdapterVersion v, String dir, String registryPath) {
        v.requireWeights();
        requirePlainLora(v);
        String sha = sha256(v.adapterSafetensors());
        String lineagePath = dir + "/" + LINEAGE_FILE;
        if (fs.exists(lineagePath)
                && fs.exists(dir + "/" + PeftAdapter.WEIGHTS_FILE)
                && fs.exists(dir + "/" + PeftAdapter.CONFIG_FILE)) {
            try {
                var old = JSON.readTree(fs.readJson(lineagePath));
                if (old.path("adapter_name").asText().equals(v.name())
                        && old.path("version").asInt() == v.version()
                        && old.path("adapter_model_sha256").asText().equals(sha)) {
                    return new Result(v.name(), v.version(), false, dir, sha, v.adapterSafetensors().length);
                }
            } catch (IOException e) {
                // an unreadable lineage file is replaced below
            }
        }
        fs.writeAtomic(dir + "/" + PeftAdapter.WEIGHTS_FILE, v.adapterSafetensors());
        fs.writeAtomic(
                dir + "/" + PeftAdapter.CONFIG_FILE, v.adapterConfigJson().getBytes(StandardCharsets.UTF_8));
        fs.writeAtomic(lineagePath, lineage(v, sha, registryPath));
        return new Result(v.name(), v.version(), true, dir, sha, v.adapterSafetensors().length);
    }

    /** Writes the two PEFT files of {@code v} (no lineage) into a local directory, e.g. to load them on the driver. */
    public static Path writeLocal(AdapterVersion v, Path dir) {
        v.requireWeights();
        try {
            Files.createDirectories(dir);
            Files.write(dir.resolve(PeftAdapter.WEIGHTS_FILE), v.adapterSafetensors());
            Files.writeString(dir.resolve(PeftAdapter.CONFIG_FILE), v.adapterConfigJson());
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("writing adapter " + v.ref() + " to " + dir, e);
        }
    }

    /** Refuses a version whose config still names PiSSA/LoftQ: exported as it is, it would be wrong on its base. */
    static void requirePlainLora(AdapterVersion v) {
        try {
            PlainLoraExport.requirePlainLora(
                    JSON.readTree(v.adapterConfigJson()), "of registry version " + v.ref() + " (adapter_config_json)");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new BadInputException("registry version " + v.ref() + ": adapter_config_json is not valid JSON ("
                    + e.getOriginalMessage() + "). Fix: register the version again from its training run (job 03)");
        }
    }

    /** The lineage file's content. */
    static byte[] lineage(AdapterVersion v, String weightsSha256, String registryPath) {
        ObjectNode n = JSON.createObjectNode();
        n.put("format", 1);
        n.put("adapter_name", v.name());
        n.put("version", v.version());
        n.put("run_id", v.runId());
        n.put("base_model_id", v.baseModelId());
        n.put("base_model_sha256", v.baseModelSha256());
        n.put("dataset_table", v.datasetTable());
        if (v.datasetVersion() == null) n.putNull("dataset_version");
        else n.put("dataset_version", v.datasetVersion());
        n.put("adapter_model_sha256", weightsSha256);
        n.put("registry", registryPath);
        n.put("exported_at", Instant.now().toString());
        try {
            return (JSON.writeValueAsString(n) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String sha256(byte[] data) {
        return io.lakelora.util.Hashes.sha256Hex(data);
    }
}
