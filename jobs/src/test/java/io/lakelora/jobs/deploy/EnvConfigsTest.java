package io.lakelora.jobs.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lakelora.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The cluster environment overlays conf/env/{databricks,s3,yarn,k8s}.yaml: each opens with a comment saying what it is
 * for and how to launch, loads through ConfigLoader, uses only the shared sections of conf/base.yaml (lake, spark,
 * s3a) with their key names and types, leaves the Spark master to the launcher, and holds no credentials.
 */
class EnvConfigsTest {
    static final List<String> FILES = List.of("databricks.yaml", "s3.yaml", "yarn.yaml", "k8s.yaml");
    /** The keys of conf/base.yaml's shared sections (CommonConfig) and the JSON type each takes. */
    static final Map<String, Set<String>> KEYS = Map.of(
            "lake", Set.of("root"),
            "spark", Set.of("master", "app_name", "shuffle_partitions", "conf"),
            "s3a", Set.of("endpoint", "region", "path_style_access", "ssl_enabled", "credentials_provider"));

    private static Path file(String name) {
        return ProjectFiles.root().resolve("conf/env").resolve(name);
    }

    @Test
    void eachOpensWithWhatItIsForAndHowToLaunch() throws Exception {
        for (String f : FILES) {
            List<String> lines = Files.readAllLines(file(f));
            assertTrue(lines.get(0).startsWith("# Environment: "), f + " first line: " + lines.get(0));
            String header = String.join("\n", lines.subList(0, 8));
            String name = f.substring(0, f.length() - ".yaml".length());
            assertTrue(
                    java.util.regex.Pattern.compile("env=([a-z0-9-]+,)*" + java.util.regex.Pattern.quote(name) + "\\b")
                            .matcher(header)
                            .find(),
                    f + ": the header shows how to select it (env=" + name + ")");
        }
    }

    @Test
    void eachLoadsWithTheSharedKeysAndTypes() {
        for (String f : FILES) {
            ObjectNode tree = ConfigLoader.resolveTree(List.of(file(f)), List.of());
            for (Iterator<Map.Entry<String, JsonNode>> it = tree.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> section = it.next();
                Set<String> known = KEYS.get(section.getKey());
                assertTrue(known != null, f + ": unknown section '" + section.getKey() + "'");
                section.getValue()
                        .fieldNames()
                        .forEachRemaining(k -> assertTrue(
                                known.contains(k), f + ": unknown key '" + section.getKey() + "." + k + "'"));
            }
            JsonNode spark = tree.path("spark");
            if (!spark.isMissingNode()) {
                spark.path("conf")
                        .fields()
                        .forEachRemaining(e -> assertTrue(
                                e.getValue().isTextual(),
                                f + ": spark.conf." + e.getKey() + " must be a string (quote it)"));
                if (spark.has("shuffle_partitions"))
                    assertTrue(spark.get("shuffle_partitions").isInt(), f);
            }
            JsonNode s3a = tree.path("s3a");
            for (String b : List.of("path_style_access", "ssl_enabled")) {
                if (s3a.has(b)) assertTrue(s3a.get(b).isBoolean(), f + ": s3a." + b + " is a boolean");
            }
        }
    }

    @Test
    void clusterEnvironmentsLeaveTheMasterToTheLauncherAndUndoLocalSettings() {
        for (String f : List.of("databricks.yaml", "yarn.yaml", "k8s.yaml")) {
            JsonNode spark =
                    ConfigLoader.resolveTree(List.of(file(f)), List.of()).path("spark");
            assertTrue(spark.has("master") && spark.get("master").isNull(), f + ": spark.master: null");
            // env/local.yaml (extended by the job configs) sets these for a 2-core laptop; Delta's default is 50
            assertEquals(
                    "50",
                    spark.path("conf")
                            .path("spark.databricks.delta.snapshotPartitions")
                            .asText(),
                    f);
            assertEquals("true", spark.path("conf").path("spark.ui.enabled").asText(), f);
        }
    }

    @Test
    void noCredentials() throws Exception {
        for (String f : FILES) {
            for (String line : Files.readAllLines(file(f))) {
                String code = line.replaceAll("#.*", "").toLowerCase(Locale.ROOT);
                for (String bad : List.of("secret", "access.key", "access_key", "password", "token")) {
                    assertFalse(code.contains(bad), f + " holds something like a credential: " + line);
                }
            }
        }
        JsonNode s3 =
                ConfigLoader.resolveTree(List.of(file("s3.yaml")), List.of()).path("s3a");
        assertEquals(
                "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider",
                s3.path("credentials_provider").asText(),
                "the AWS SDK's standard provider chain");
        assertFalse(s3.path("path_style_access").asBoolean(), "AWS S3 uses virtual-hosted buckets");
    }
}
