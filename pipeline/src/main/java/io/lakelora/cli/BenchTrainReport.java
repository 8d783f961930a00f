package io.lakelora.cli;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/** The human-readable report of {@code bench-train}: the run's fields, the table of results, the streamed reading. */
final class BenchTrainReport {
    private BenchTrainReport() {}

    static void print(Map<String, Object> result, PrintStream out) {
        result.forEach((k, v) -> {
            if (k.equals("shapes")) {
                ((Map<?, ?>) v).forEach((name, info) -> out.println("shape " + name + ": " + info));
            } else if (!k.equals("results")) {
                out.println(k + ": " + v);
            }
        });
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> rows = (List<Map<String, Object>>) result.get("results");
        boolean table = rows.stream().anyMatch(r -> !r.containsKey("io_only"));
        if (table) {
            out.printf(
                    "%-10s %3s %10s %11s %6s %9s %9s %9s %9s %9s %9s %9s %9s %-13s %-13s%n",
                    "config",
                    "thr",
                    "ours tok/s",
                    "torch tok/s",
                    "ratio",
                    "cpu-ratio",
                    "ours MFU",
                    "torch MFU",
                    "ours cMFU",
                    "torch cMFU",
                    "ours RSS",
                    "torch RSS",
                    "step s",
                    "load ours",
                    "load torch");
        }
        for (Map<String, Object> r : rows) {
            if (r.containsKey("io_only")) continue; // printed below
            out.printf(
                    "%-10s %3s %10s %11s %6s %9s %8s%% %8s%% %8s%% %8s%% %6s MB %6s MB %9s %-13s %-13s%n",
                    r.get("config"),
                    r.get("threads"),
                    r.get("ours_tok_s"),
                    r.getOrDefault("torch_tok_s", "-"),
                    r.getOrDefault("ratio_ours_vs_torch", "-"),
                    r.getOrDefault("ratio_ours_vs_torch_cpu", "-"),
                    r.get("ours_mfu_pct"),
                    r.getOrDefault("torch_mfu_pct", "-"),
                    r.get("ours_mfu_cpu_pct"),
                    r.getOrDefault("torch_mfu_cpu_pct", "-"),
                    r.get("ours_peak_rss_mb"),
                    r.getOrDefault("torch_peak_rss_mb", "-"),
                    r.get("ours_step_s"),
                    r.get("ours_load"),
                    r.getOrDefault("torch_load", "-"));
        }
        for (Map<String, Object> r : rows) {
            if (!r.containsKey("ours_read_gb_per_step")) continue;
            if (r.containsKey("io_only")) {
                out.printf(
                        "%s, read only (no compute): %s GB per pass in %s s, %s GB/s (%s layers; %s GB from the"
                                + " device); peak RSS %s MB anonymous, %s MB total%n",
                        r.get("config"),
                        r.get("ours_read_gb_per_step"),
                        r.get("ours_step_s"),
                        r.get("ours_read_gb_per_s"),
                        r.get("ours_layers_read"),
                        r.get("ours_disk_read_gb"),
                        r.get("ours_peak_anon_rss_mb"),
                        r.get("ours_peak_rss_mb"));
                continue;
            }
            out.printf(
                    "%s, %s threads, streamed: read %s GB per step at %s GB/s (%s s of reading, %s layers; %s GB from"
                            + " the device, the rest from the page cache), compute waited %s s for layers: %s%% of the"
                            + " reading hidden; peak RSS %s MB anonymous, %s MB total%n",
                    r.get("config"),
                    r.get("threads"),
                    r.get("ours_read_gb_per_step"),
                    r.get("ours_read_gb_per_s"),
                    r.get("ours_read_s"),
                    r.get("ours_layers_read"),
                    r.get("ours_disk_read_gb"),
                    r.get("ours_io_wait_s"),
                    r.get("ours_io_hidden_pct"),
                    r.get("ours_peak_anon_rss_mb"),
                    r.get("ours_peak_rss_mb"));
        }
        out.println("(tokens/s: median step after warm-up; cpu-ratio = torch's / our process CPU seconds per step;"
                + " MFU = model FLOPs (no recomputation) / step time / (threads x one-core FMA peak); cMFU = model"
                + " FLOPs / process CPU seconds / one-core peak (robust to load); load = 1-min average at start ->"
                + " end of each side; RSS = peak resident set of the process running that shape; the machine is"
                + " shared: see the load averages)");
    }
}
