package io.lakelora.jobs.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.cli.BaseCommand;
import io.lakelora.jobs.common.CommonConfig;
import io.lakelora.jobs.common.JobConfigs;
import io.lakelora.jobs.common.SparkSessions;
import io.lakelora.util.Hashes;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code lakelora registry list|show|alias|diff}: the adapter registry of a lake ({@code <lake.root>/registry}) from
 * the command line. The lake comes from the same config files as the jobs ({@code --config}, default
 * {@code conf/base.yaml}, with the environment overlay), {@code --lake} or {@code --set lake.root=...}.
 */
@Command(
        name = "registry",
        description = "The adapter registry: list adapters and versions, show a version's lineage, set an alias, "
                + "diff two versions' weight updates.",
        subcommands = {
            RegistryCommand.ListVersions.class,
            RegistryCommand.Show.class,
            RegistryCommand.Alias.class,
            RegistryCommand.Diff.class
        })
public final class RegistryCommand implements Runnable {
    @Option(
            names = {"-h", "--help"},
            usageHelp = true,
            description = "Show this help and exit.")
    boolean help;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** What every registry command shares: where the lake is. */
    abstract static class Sub extends BaseCommand {
        @Option(
                names = {"-c", "--config"},
                paramLabel = "FILE",
                description = "YAML config naming the lake (lake.root, s3a, spark); repeatable. "
                        + "Default: conf/base.yaml.")
        List<String> configs = new ArrayList<>();

        @Option(
                names = "--lake",
                paramLabel = "ROOT",
                description = "Lake root (directory or URI); overrides lake.root.")
        String lake;

        @Option(
                names = "--set",
                paramLabel = "KEY=VALUE",
                description = "Config override, e.g. --set env=s3 --set lake.root=s3a://bucket/lake; repeatable.")
        List<String> overrides = new ArrayList<>();

        AdapterRegistry registry() {
            List<String> o = new ArrayList<>(overrides);
            if (lake != null) o.add("lake.root=" + lake);
            CommonConfig cfg =
                    JobConfigs.load(configs.isEmpty() ? List.of("conf/base.yaml") : configs, o, CommonConfig.class);
            cfg.validateCommon();
            SparkSession spark = SparkSessions.getOrCreate(cfg, Map.of());
            return new AdapterRegistry(spark, AdapterRegistry.rootOf(cfg.lake.root));
        }
    }

    /** {@code registry list [NAME]}. */
    @Command(
            name = "list",
            description = "Without NAME: every adapter (versions, latest, aliases). With NAME: its versions "
                    + "(metrics, dataset version, aliases).")
    static final class ListVersions extends Sub {
        @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", description = "An adapter name.")
        String name;

        @Override
        protected Map<String, Object> execute() {
            AdapterRegistry reg = registry();
            reg.requireExists();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("registry", reg.adaptersPath());
            List<Map<String, Object>> rows = new ArrayList<>();
            if (name == null) {
                for (Row r : reg.adapters()) {
                    Map<String, Object> a = new LinkedHashMap<>();
                    String n = r.getAs("adapter_name");
                    a.put("adapter", n);
                    a.put("versions", r.<Long>getAs("versions"));
                    a.put("latest", r.<Integer>getAs("latest"));
                    a.put("last_created_at", String.valueOf(r.<Object>getAs("last_created_at")));
                    a.put("aliases", reg.aliases(n));
                    rows.add(a);
                }
                m.put("adapters", rows);
                return m;
            }
            List<Row> versions = reg.versions(name);
            if (versions.isEmpty()) {
                throw new IllegalArgumentException("adapter '" + name + "' has no versions in " + reg.adaptersPath()
                        + ". Fix: run 'bin/lakelora registry list' to see the adapter names");
            }
            Map<String, Integer> aliases = reg.aliases(name);
            for (Row r : versions) {
                int v = r.<Integer>getAs("version");
                Map<String, Object> a = new LinkedHashMap<>();
                a.put("version", v);
                a.put("created_at", String.valueOf(r.<Object>getAs("created_at")));
                a.put("run_id", r.getAs("run_id"));
                a.put("dataset_version", r.getAs("dataset_version"));
                a.put("train_loss", r.getAs("train_loss"));
                a.put("eval_loss", r.getAs("eval_loss"));
                a.put("steps", r.getAs("steps"));
                List<String> mine = new ArrayList<>();
                aliases.forEach((al, av) -> {
                    if (av == v) mine.add(al);
                });
                a.put("aliases", mine);
                rows.add(a);
            }
            m.put("adapter", name);
            m.put("versions", rows);
            return m;
        }

        @Override
        protected void printHuman(Map<String, Object> r, PrintStream out) {
            out.println("registry " + r.get("registry"));
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> rows =
                    (List<Map<String, Object>>) (r.containsKey("adapters") ? r.get("adapters") : r.get("versions"));
            if (r.containsKey("adapters")) {
                out.printf("%-32s %8s %7s  %-23s  %s%n", "ADAPTER", "VERSIONS", "LATEST", "LAST CREATED", "ALIASES");
                for (Map<String, Object> a : rows) {
                    out.printf(
                            "%-32s %8s %7s  %-23s  %s%n",
                            a.get("adapter"),
                            a.get("versions"),
                            a.get("latest"),
                            a.get("last_created_at"),
                            a.get("aliases"));
                }
                return;
            }
            out.println("adapter " + r.get("adapter"));
            out.printf(
                    "%7s  %-23s  %-24s %8s %10s %10s %6s  %s%n",
                    "VERSION", "CREATED", "RUN", "DATA V", "TRAIN LOSS", "EVAL LOSS", "STEPS", "ALIASES");
            for (Map<String, Object> a : rows) {
                out.printf(
                        "%7s  %-23s  %-24s %8s %10s %10s %6s  %s%n",
                        a.get("version"),
                        a.get("created_at"),
                        a.get("run_id"),
                        a.get("dataset_version"),
                        fmt(a.get("train_loss")),
                        fmt(a.get("eval_loss")),
                        a.get("steps"),
                        a.get("aliases"));
            }
        }
    }

    /** {@code registry show NAME@VERSION|NAME@ALIAS}. */
    @Command(
            name = "show",
            description = "One version's lineage (base model and its sha256, dataset table and Delta version, run), "
                    + "LoRA settings, resolved config, metrics, aliases and evaluations.")
    static final class Show extends Sub {
        private static final ObjectMapper JSON = new ObjectMapper();

        @Parameters(
                index = "0",
                paramLabel = "NAME@REF",
                description = "NAME@VERSION, NAME@ALIAS, NAME@latest or NAME (= NAME@latest).")
        String ref;

        @Override
        protected Map<String, Object> execute() {
            AdapterRegistry reg = registry();
            Row r = reg.resolve(ref);
            String name = r.getAs("adapter_name");
            int version = r.<Integer>getAs("version");
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("adapter", name);
            m.put("version", version);
            m.put("ref", ref);
            m.put("run_id", r.getAs("run_id"));
            m.put("created_at", String.valueOf(r.<Object>getAs("created_at")));
            m.put("status", r.getAs("status"));
            Map<String, Object> lineage = new LinkedHashMap<>();
            lineage.put("base_model_id", r.getAs("base_model_id"));
            lineage.put("base_model_sha256", r.getAs("base_model_sha256"));
            lineage.put("dataset_table", r.getAs("dataset_table"));
            lineage.put("dataset_version", r.getAs("dataset_version"));
            lineage.put("peft_path", r.getAs("peft_path"));
            m.put("lineage", lineage);
            Map<String, Object> lora = new LinkedHashMap<>();
            lora.put("r", r.getAs("lora_r"));
            lora.put("lora_alpha", r.getAs("lora_alpha"));
            lora.put("target_modules", AdapterRegistryRows.list(r, "target_modules"));
            m.put("lora", lora);
            Map<String, Object> metrics = new LinkedHashMap<>();
            for (String k : new String[] {"train_loss", "eval_loss", "perplexity", "tokens", "steps", "wall_seconds"}) {
                metrics.put(k, r.getAs(k));
            }
            m.put("metrics", metrics);
            byte[] weights = r.getAs("adapter_safetensors");
            Map<String, Object> files = new LinkedHashMap<>();
            files.put("adapter_model_bytes", weights == null ? null : weights.length);
            files.put("adapter_model_sha256", weights == null ? null : Hashes.sha256Hex(weights));
            m.put("weights", files);
            List<String> aliases = new ArrayList<>();
            reg.aliases(name).forEach((al, v) -> {
                if (v == version) aliases.add(al);
            });
            m.put("aliases", aliases);
            List<Map<String, Object>> evals = new ArrayList<>();
            for (Row e : reg.evals(name, version)) {
                Map<String, Object> x = new LinkedHashMap<>();
                x.put("evaluated_at", String.valueOf(e.<Object>getAs("evaluated_at")));
                x.put("dataset_table", e.getAs("dataset_table"));
                x.put("dataset_version", e.getAs("dataset_version"));
                x.put("eval_loss", e.getAs("eval_loss"));
                x.put("perplexity", e.getAs("perplexity"));
                x.put("tokens", e.getAs("tokens"));
                evals.add(x);
            }
            m.put("evaluations", evals);
            m.put("config", config(r.getAs("config_json")));
            return m;
        }

        private static Object config(String json) {
            if (json == null) return null;
            try {
                return JSON.readValue(json, Object.class);
            } catch (java.io.IOException e) {
                return json; // shown as stored
            }
        }

        @Override
        protected void printHuman(Map<String, Object> r, PrintStream out) {
            r.forEach((k, v) -> {
                if (k.equals("config")) {
                    try {
                        JsonNode n = JSON.valueToTree(v);
                        out.println("config:");
                        JSON.writerWithDefaultPrettyPrinter()
                                .writeValueAsString(n)
                                .lines()
                                .forEach(l -> out.println("  " + l));
                    } catch (java.io.IOException e) {
                        out.println("config: " + v);
                    }
                } else if (v instanceof Map<?, ?> sub) {
                    out.println(k + ":");
                    sub.forEach((sk, sv) -> out.println("  " + sk + ": " + sv));
                } else {
                    out.println(k + ": " + v);
                }
            });
        }
    }

    /** {@code registry alias NAME VERSION ALIAS}. */
    @Command(
            name = "alias",
            description = "Point ALIAS (staging, production, ...) of adapter NAME at VERSION. 'latest' and "
                    + "all-digit names are reserved (NAME@latest, NAME@3).")
    static final class Alias extends Sub {
        @Parameters(index = "0", paramLabel = "NAME", description = "The adapter name.")
        String name;

        @Parameters(index = "1", paramLabel = "VERSION", description = "An existing version number.")
        String version;

        @Parameters(index = "2", paramLabel = "ALIAS", description = "The alias, e.g. production.")
        String alias;

        @Override
        protected Map<String, Object> execute() {
            AdapterRegistry.requireAliasName(alias); // before starting Spark
            if (!version.matches("[0-9]{1,9}")) {
                throw new IllegalArgumentException("VERSION '" + version + "' is not a version number. Fix: pass the "
                        + "number, e.g. 'registry alias " + name + " 3 " + alias + "' ('registry list " + name
                        + "' shows them)");
            }
            AdapterRegistry reg = registry();
            reg.requireExists();
            int v = Integer.parseInt(version);
            Integer before = reg.aliases(name).get(alias);
            reg.setAlias(name, alias, v);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("adapter", name);
            m.put("alias", alias);
            m.put("version", v);
            m.put("previous_version", before);
            return m;
        }
    }

    /** {@code registry diff A B}. */
    @Command(
            name = "diff",
            description = "What changed from version A to B: ||delta W||_F (delta W = s B A) of each and of their "
                    + "difference, per layer, per module and in total, and the layers that changed most.")
    static final class Diff extends Sub {
        @Parameters(index = "0", paramLabel = "A", description = "NAME@REF, e.g. support-bot@production.")
        String a;

        @Parameters(
                index = "1",
                paramLabel = "B",
                description = "NAME@REF, or just REF for the same adapter as A (e.g. 3 or latest).")
        String b;

        @Option(names = "--top", paramLabel = "N", description = "Layers listed as changed most (default 5).")
        int top = 5;

        @Override
        protected Map<String, Object> execute() {
            if (top < 0) throw new IllegalArgumentException("--top is " + top + ", expected >= 0");
            AdapterRegistry reg = registry();
            Row ra = reg.resolve(a);
            String bRef = b.contains("@") ? b : ra.<String>getAs("adapter_name") + "@" + b;
            Row rb = reg.resolve(bRef);
            AdapterDiff.Result d = AdapterDiff.diff(side(ra), side(rb));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("a", d.a());
            m.put("b", d.b());
            m.put("scale_a", d.scaleA());
            m.put("scale_b", d.scaleB());
            String shaA = ra.getAs("base_model_sha256");
            String shaB = rb.getAs("base_model_sha256");
            m.put("same_base_model", shaA != null && shaA.equals(shaB));
            m.put("total", d.total().asMap());
            m.put("modules", d.modules().stream().map(AdapterDiff.Norms::asMap).toList());
            m.put(
                    "changed_most",
                    d.changedMost(top).stream().map(AdapterDiff.Norms::asMap).toList());
            m.put("layers", d.layers().stream().map(AdapterDiff.Norms::asMap).toList());
            return m;
        }

        private static AdapterDiff.Side side(Row r) {
            return new AdapterDiff.Side(
                    r.getAs("adapter_name") + "@" + r.<Integer>getAs("version"),
                    r.getAs("adapter_safetensors"),
                    r.getAs("adapter_config_json"));
        }

        @Override
        protected void printHuman(Map<String, Object> r, PrintStream out) {
            out.println("diff " + r.get("a") + " -> " + r.get("b") + "  (||delta W||_F, delta W = s B A; s = "
                    + fmt(r.get("scale_a")) + " / " + fmt(r.get("scale_b")) + ")");
            if (!Boolean.TRUE.equals(r.get("same_base_model"))) {
                out.println("note: the versions record different (or unknown) base model hashes");
            }
            out.printf("%-44s %12s %12s %12s %9s%n", "MODULE", "||dW_a||", "||dW_b||", "||dW_a-dW_b||", "REL");
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> modules = (List<Map<String, Object>>) r.get("modules");
            for (Map<String, Object> x : modules) row(out, x);
            @SuppressWarnings("unchecked")
            Map<String, Object> total = (Map<String, Object>) r.get("total");
            row(out, total);
            out.println("changed most:");
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> most = (List<Map<String, Object>>) r.get("changed_most");
            for (Map<String, Object> x : most) row(out, x);
        }

        private static void row(PrintStream out, Map<String, Object> x) {
            out.printf(
                    "%-44s %12s %12s %12s %9s%n",
                    x.get("module"),
                    fmt(x.get("norm_a")),
                    fmt(x.get("norm_b")),
                    fmt(x.get("norm_diff")),
                    fmt(x.get("relative_diff")));
        }
    }

    static String fmt(Object v) {
        if (v instanceof Double d) return Double.isNaN(d) ? "-" : String.format(Locale.ROOT, "%.6g", d);
        return String.valueOf(v);
    }

    /** Null-safe array columns. */
    static final class AdapterRegistryRows {
        private AdapterRegistryRows() {}

        static List<String> list(Row r, String col) {
            int i = r.fieldIndex(col);
            return r.isNullAt(i) ? List.of() : new ArrayList<>(r.getList(i));
        }
    }
}
