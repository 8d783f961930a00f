package io.lakelora.jobs.common;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Rejects credentials in a job config before anything is written: the resolved config is stored in {@code job_runs}
 * and in the registry's {@code config_json}, so a secret there would be persisted in the lake. Checks every
 * {@code spark.conf} key (AWS {@code fs.s3a.access.key} / {@code secret.key} / {@code session.token}, Azure
 * {@code fs.azure.account.key.*}, SAS {@code fs.azure.sas.*}, OAuth client secrets, GCS
 * {@code fs.gs.auth.service.account.private.key*}, and any key naming a secret, token, password or API key) and every
 * string value anywhere in the config (a SAS signature {@code sig=}, a PEM private key, a service-account JSON
 * keyfile's contents, an AWS access key id). Errors name the key and the kind, never the value.
 */
public final class Credentials {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern AWS_KEY_ID = Pattern.compile("\\b(?:AKIA|ASIA)[0-9A-Z]{16}\\b");
    private static final Pattern SAS_SIG = Pattern.compile("(?:^|[?&\\s])sig=[^&\\s]+", Pattern.CASE_INSENSITIVE);

    private Credentials() {}

    /** The kind of credential a Spark/Hadoop setting name holds, or null when it names none. */
    public static String keyKind(String key) {
        String k = key.toLowerCase(Locale.ROOT);
        // settings that name a class, a file or a switch, not a secret
        if (k.endsWith(".type")
                || k.endsWith(".provider")
                || k.endsWith(".class")
                || k.endsWith(".enabled")
                || k.endsWith("file")
                || k.endsWith(".path")) {
            return null;
        }
        if (k.contains("fs.azure.account.key")) return "an Azure storage account key";
        if (k.contains("fs.azure.sas.") || k.endsWith(".sas") || k.contains("sas.token")) return "an Azure SAS token";
        if (k.contains("fs.gs.auth.service.account.private.key")) return "a GCS service-account private key";
        if (k.contains("private.key") || k.contains("privatekey")) return "a private key";
        if (k.contains("access.key") || k.contains("accesskey")) return "an access key";
        if (k.contains("secret")) return "a secret";
        if (k.contains("token")) return "a token";
        if (k.contains("password") || k.contains("passwd")) return "a password";
        if (k.contains("api.key") || k.contains("apikey") || k.contains("api_key")) return "an API key";
        return null;
    }

    /** The kind of credential a value is or contains, or null. */
    public static String valueKind(String value) {
        if (value == null) return null;
        if (value.contains("PRIVATE KEY-----")) return "a PEM private key";
        if (value.contains("\"private_key\"") || value.contains("\"private_key_id\"")) {
            return "a service-account JSON keyfile's contents";
        }
        if (SAS_SIG.matcher(value).find()) return "an Azure SAS signature (sig=)";
        if (AWS_KEY_ID.matcher(value).find()) return "an AWS access key id";
        return null;
    }

    /** Fails on the first credential in {@code cfg} (a {@code spark.conf} key or any string value). */
    public static void check(CommonConfig cfg) {
        for (Map.Entry<String, String> e : cfg.spark.conf.entrySet()) {
            String kind = keyKind(e.getKey());
            if (kind != null) throw found("spark.conf." + e.getKey(), kind, "names");
        }
        try {
            walk(JSON.readTree(io.lakelora.config.ConfigLoader.toJson(cfg)), "");
        } catch (java.io.IOException e) {
            throw new IllegalStateException("re-reading the resolved config", e);
        }
    }

    private static void walk(JsonNode n, String path) {
        if (n.isTextual()) {
            String kind = valueKind(n.asText());
            if (kind != null) throw found(path, kind, "holds");
            return;
        }
        if (n.isArray()) {
            for (int i = 0; i < n.size(); i++) walk(n.get(i), path + "[" + i + "]");
            return;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            walk(e.getValue(), path.isEmpty() ? e.getKey() : path + "." + e.getKey());
        }
    }

    private static IllegalArgumentException found(String key, String kind, String verb) {
        return new IllegalArgumentException("config key '" + key + "' " + verb + " " + kind + " (value not shown). "
                + "Job configs are stored in job_runs and the adapter registry, so they must never hold secrets. Fix: "
                + "remove it and give the credential to the file system instead: AWS through the provider chain "
                + "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or an instance role), Azure through a managed "
                + "identity or OAuth provider (fs.azure.account.auth.type) with the secret in the environment or a "
                + "key vault, GCS through workload identity or a keyfile path "
                + "(google.cloud.auth.service.account.json.keyfile), never its contents");
    }
}
