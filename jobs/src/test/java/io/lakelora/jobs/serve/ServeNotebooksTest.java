package io.lakelora.jobs.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.lakelora.jobs.common.JobConfigs;
import io.lakelora.jobs.testing.Confs;
import java.nio.file.Files;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Databricks notebooks of jobs 00, 04 and 05 (source format): each loads its job's conf file from conf_dir with the
 * Databricks overlay (env=databricks), runs the job class, passes only override keys that the conf file has, and reads
 * only widgets it defines; 05 serves the evaluated version on the lake copy of its base (LoraUdfs.registerFromLake).
 */
class ServeNotebooksTest {
    record Notebook(String file, String conf, String jobCall, String configClass) {}

    static final List<Notebook> NOTEBOOKS = List.of(
            new Notebook(
                    "00_quantize_base.scala",
                    "00_quantize_base.yaml",
                    "QuantizeBaseJob.run(spark, cfg, runId)",
                    "classOf[QuantizeConfig]"),
            new Notebook(
                    "04_export_adapter.scala",
                    "04_export.yaml",
                    "ExportAdapterJob.run(spark, cfg, runId)",
                    "classOf[ExportConfig]"),
            new Notebook(
                    "05_evaluate.scala",
                    "05_evaluate.yaml",
                    "EvaluateJob.run(spark, cfg, runId)",
                    "classOf[EvaluateConfig]"));

    @Test
    void notebooksRunTheirJobWithKeysTheConfigHas() throws Exception {
        Pattern override = Pattern.compile("s\"([a-z_.]+)=\\$");
        Pattern widgetDef = Pattern.compile("dbutils\\.widgets\\.(?:text|dropdown)\\(\"([a-z_]+)\"");
        Pattern widgetGet = Pattern.compile("dbutils\\.widgets\\.get\\(\"([a-z_]+)\"\\)");
        for (Notebook nb : NOTEBOOKS) {
            String src = Files.readString(Confs.root().resolve("notebooks").resolve(nb.file()));
            assertTrue(src.startsWith("// Databricks notebook source\n"), nb.file());
            assertTrue(src.contains("\n// COMMAND ----------\n"), nb.file() + ": cells");
            assertTrue(src.contains(nb.jobCall()) && src.contains(nb.configClass()), nb.file() + " runs its job");
            assertTrue(
                    src.contains("JobConfigs.load(List(s\"$confUri/" + nb.conf() + "\").asJava, "
                            + "(Seq(\"env=databricks\") ++ overrides).asJava"),
                    nb.file() + " loads " + nb.conf() + " with the Databricks overlay");

            JsonNode tree =
                    JobConfigs.resolve(List.of(Confs.conf(nb.conf()).toString()), List.of("env=databricks"), null);
            Matcher m = override.matcher(src);
            int keys = 0;
            while (m.find()) {
                JsonNode n = tree;
                for (String part : m.group(1).split("\\.")) n = n.path(part);
                assertFalse(
                        n.isMissingNode(), nb.file() + ": override key '" + m.group(1) + "' is not in " + nb.conf());
                keys++;
            }
            assertTrue(keys >= 2, nb.file() + " passes its widgets as overrides");

            Set<String> defined = new LinkedHashSet<>();
            for (Matcher d = widgetDef.matcher(src); d.find(); ) defined.add(d.group(1));
            for (Matcher g = widgetGet.matcher(src); g.find(); ) {
                assertTrue(
                        defined.contains(g.group(1)),
                        nb.file() + " reads widget '" + g.group(1) + "' it never defines");
            }
        }
        String serve = Files.readString(Confs.root().resolve("notebooks/05_evaluate.scala"));
        assertTrue(
                serve.contains("LoraUdfs.registerFromLake(spark, lakeRoot, "),
                "05 serves through the lake: " + "LoraUdfs.registerFromLake(spark, lakeRoot, ...)");
        assertEquals(
                NOTEBOOKS.size(),
                NOTEBOOKS.stream()
                        .map(Notebook::file)
                        .filter(f -> Files.isRegularFile(
                                Confs.root().resolve("notebooks").resolve(f)))
                        .count());
    }

    @Test
    void confFilesOpenWithWhatTheyAreForAndHowToLaunch() throws Exception {
        for (String conf : List.of("00_quantize_base.yaml", "04_export.yaml", "05_evaluate.yaml")) {
            String text = Files.readString(Confs.conf(conf));
            String command = conf.startsWith("00") ? "quantize-base" : conf.startsWith("04") ? "export" : "evaluate";
            assertTrue(text.startsWith("# Job 0"), conf);
            assertTrue(
                    text.contains("# Prerequisites:")
                            && text.contains("# Launch:    bin/lakelora " + command + " --config conf/" + conf)
                            && text.contains("# Override:"),
                    conf + " header");
        }
    }
}
