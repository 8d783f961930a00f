package io.lakelora.jobs.common;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.jobs.export.ExportAdapterJob;
import io.lakelora.jobs.export.ExportConfig;
import io.lakelora.jobs.testing.Confs;
import io.lakelora.jobs.testing.TestSpark;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kind of credential in a job config is rejected before anything is written, with an error that names the key
 * and never the value; settings that only name a provider class, a key file path or a switch pass.
 */
class CredentialsTest {
    static final String SECRET = "Zx9-hostile-secret-value-7Q";

    static ExportConfig config(Path lake) {
        return Confs.load("04_export.yaml", ExportConfig.class, "lake.root=" + lake, "adapter=bot@1");
    }

    /** spark.conf key -> a value; each must be rejected. */
    static Map<String, String> hostileKeys() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("spark.hadoop.fs.s3a.access.key", SECRET);
        m.put("spark.hadoop.fs.s3a.secret.key", SECRET);
        m.put("spark.hadoop.fs.s3a.session.token", SECRET);
        m.put("spark.hadoop.fs.s3a.bucket.data.secret.key", SECRET);
        m.put("spark.hadoop.fs.azure.account.key.acct.dfs.core.windows.net", SECRET);
        m.put("spark.hadoop.fs.azure.sas.container.acct.blob.core.windows.net", SECRET);
        m.put("spark.hadoop.fs.azure.sas.fixed.token", SECRET);
        m.put("spark.hadoop.fs.azure.account.oauth2.client.secret", SECRET);
        m.put("spark.hadoop.fs.gs.auth.service.account.private.key", SECRET);
        m.put("spark.hadoop.fs.gs.auth.service.account.private.key.id", SECRET);
        m.put("spark.myservice.api.token", SECRET);
        m.put("spark.jdbc.password", SECRET);
        m.put("spark.vendor.apikey", SECRET);
        return m;
    }

    /** Values that are credentials whatever the key says. */
    static Map<String, String> hostileValues() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(
                "spark.hadoop.fs.azure.custom.endpoint",
                "https://acct.blob.core.windows.net/c?sv=2022-11-02&sig=" + SECRET);
        m.put(
                "spark.hadoop.google.cloud.auth.service.account.json.keyfile",
                "{\"type\": \"service_account\", \"private_key_id\": \"" + SECRET + "\", \"private_key\": "
                        + "\"-----BEGIN PRIVATE KEY-----\\nMIIEv" + SECRET + "\\n-----END PRIVATE KEY-----\\n\"}");
        m.put("spark.hadoop.fs.custom.pem", "-----BEGIN RSA PRIVATE KEY-----\nMIIEv" + SECRET);
        // AWS's documented example access key id (docs.aws.amazon.com, "Managing access keys")
        m.put("spark.executorEnv.AWS_ID", "AKIAIOSFODNN7EXAMPLE");
        return m;
    }

    @Test
    void everyCredentialKindIsRejectedNamingTheKeyNotTheValue(@TempDir Path lake) {
        Map<String, String> all = new LinkedHashMap<>(hostileKeys());
        all.putAll(hostileValues());
        for (Map.Entry<String, String> e : all.entrySet()) {
            ExportConfig cfg = config(lake);
            cfg.spark.conf.put(e.getKey(), e.getValue());
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, cfg::validate, e.getKey());
            String msg = ex.getMessage();
            assertTrue(msg.contains("'spark.conf." + e.getKey() + "'"), msg);
            assertTrue(msg.contains("Fix:"), msg);
            assertFalse(msg.contains(SECRET) || msg.contains("AKIAIOSFODNN7EXAMPLE"), "the value leaked: " + msg);
        }
        // a SAS URL in a typed setting (a path) is caught too
        ExportConfig cfg = config(lake);
        cfg.out = "abfss://c@acct.dfs.core.windows.net/exports?sv=2022-11-02&sig=" + SECRET;
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, cfg::validate);
        assertTrue(ex.getMessage().contains("config key 'out' holds an Azure SAS signature"), ex.getMessage());
    }

    @Test
    void settingsThatNameNoSecretPass(@TempDir Path lake) {
        ExportConfig cfg = config(lake);
        cfg.spark.conf.put("spark.hadoop.fs.azure.sas.token.provider.type", "com.example.SasProvider");
        cfg.spark.conf.put("spark.hadoop.fs.s3a.aws.credentials.provider", "com.amazonaws.auth.InstanceProfile");
        cfg.spark.conf.put("spark.hadoop.google.cloud.auth.service.account.json.keyfile", "/etc/gcs/key.json");
        cfg.spark.conf.put("spark.security.credentials.hive.enabled", "false");
        cfg.spark.conf.put("spark.executor.memory", "4g");
        cfg.spark.conf.put("spark.kubernetes.authenticate.submission.oauthTokenFile", "/var/run/token");
        assertDoesNotThrow(cfg::validate);
    }

    @Test
    void aRejectedRunPersistsNothing(@TempDir Path tmp) throws Exception {
        Path lake = tmp.resolve("lake");
        SparkSession spark = TestSpark.start(Map.of());
        try {
            for (Map.Entry<String, String> e : hostileKeys().entrySet()) {
                ExportConfig cfg = config(lake);
                cfg.spark.conf.put(e.getKey(), e.getValue());
                assertThrows(IllegalArgumentException.class, () -> ExportAdapterJob.run(spark, cfg, "run-x"));
            }
        } finally {
            TestSpark.stop(spark);
        }
        // nothing under the lake (job_runs, registry) or the temp dir holds the secret
        List<Path> files;
        try (Stream<Path> s = Files.walk(tmp)) {
            files = s.filter(Files::isRegularFile).toList();
        }
        for (Path f : files) {
            String text = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
            assertFalse(text.contains(SECRET), "secret persisted in " + f);
        }
        assertFalse(Files.exists(lake.resolve("tables/job_runs")), "a rejected run records no job_runs row");
    }
}
