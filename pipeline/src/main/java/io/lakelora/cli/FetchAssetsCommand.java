package io.lakelora.cli;

import io.lakelora.assets.AssetFetcher;
import io.lakelora.assets.AssetManifest;
import io.lakelora.util.Assets;
import io.lakelora.util.Fields;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakelora fetch-assets [--dir DIR] [--mirror URL] [--url NAME=URL ...] [--list] [--json]}: downloads the demo
 * model (llama2.c stories260K + tok512), and the corpora from their public sources into the user cache, checks each
 * file's SHA-256 against the manifest shipped with LakeLoRA, and converts stories260K into the Hugging Face layout the
 * jobs read. The demo uses that cache when {@code ../shared/assets} is absent. A rerun downloads nothing.
 */
@Command(
        name = "fetch-assets",
        description = "Download the demo model, tokenizer and corpora from their public "
                + "sources (SHA-256 checked) into a cache directory, and convert stories260K to the Hugging Face layout. "
                + "The demo uses that directory when ../shared/assets is absent.")
public final class FetchAssetsCommand extends BaseCommand {
    @Option(
            names = "--dir",
            paramLabel = "DIR",
            description = "Assets directory to fill (default "
                    + "$XDG_CACHE_HOME/lakelora/assets, else ~/.cache/lakelora/assets).")
    Path dir;

    @Option(
            names = "--mirror",
            paramLabel = "URL",
            description = "Prefix that replaces the scheme and host of every "
                    + "source URL, e.g. http://mirror.local/assets fetches http://mirror.local/assets/karpathy/char-rnn/... "
                    + "(http, https or file).")
    String mirror;

    @Option(
            names = "--url",
            paramLabel = "NAME=URL",
            description = "The URL of one asset (also the system property "
                    + "lakelora.assets.url.NAME); see --list for the names. Wins over --mirror.")
    Map<String, String> urls = new LinkedHashMap<>();

    @Option(names = "--list", description = "Print the assets, their sources, sizes and hashes; download nothing.")
    boolean list;

    @Override
    protected Map<String, Object> execute() {
        AssetManifest manifest = AssetManifest.load();
        Path target = dir != null ? dir : Assets.cacheDir();
        Map<String, String> overrides = new LinkedHashMap<>(AssetFetcher.overridesFromSystemProperties());
        overrides.putAll(urls);
        AssetFetcher fetcher = new AssetFetcher(manifest, target, mirror, overrides, BaseCommand::log);
        String dirName = target.toAbsolutePath().normalize().toString();
        if (list) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("dir", dirName);
            List<Map<String, Object>> files = new ArrayList<>();
            for (AssetManifest.FileEntry f : manifest.files()) {
                Map<String, Object> m = Fields.of(f);
                m.put("url", fetcher.source(f).toString()); // where it comes from with --mirror and --url
                files.add(m);
            }
            r.put("files", files);
            r.put(
                    "conversions",
                    manifest.conversions().stream()
                            .map(c -> c.dir() + " <- " + c.checkpoint() + " + " + c.tokenizer() + " (" + c.kind() + ")")
                            .toList());
            return r;
        }
        AssetFetcher.Report rep = fetcher.fetch();
        Map<String, Object> r = Fields.of(rep);
        r.put("dir", dirName); // as text, in the Path's place
        r.put("uses", usage(rep.dir()));
        return r;
    }

    /** How this directory gets used: by default when ../shared/assets is absent, else through LAKELORA_ASSETS. */
    private static String usage(Path filled) {
        if (filled.equals(Assets.cacheDir())) {
            return "bin/lakelora uses " + filled + " when " + Assets.SHARED + " is absent (LAKELORA_ASSETS overrides)";
        }
        return "export LAKELORA_ASSETS=" + filled + " to use it";
    }

    @Override
    protected void printHuman(Map<String, Object> r, PrintStream out) {
        out.println("assets directory: " + r.get("dir"));
        for (String key : List.of("files", "conversions")) {
            for (Object o : (List<?>) r.get(key)) {
                if (o instanceof Map<?, ?> m) {
                    out.printf(
                            "  %-10s %-45s %s%n",
                            m.containsKey("status") ? m.get("status") : m.get("size") + " B",
                            m.get("path"),
                            m.containsKey("url") ? m.get("url") : m.get("source"));
                } else {
                    out.println("  convert    " + o);
                }
            }
        }
        if (r.containsKey("downloads")) {
            out.println(r.get("downloads") + " download(s), " + r.get("downloaded_bytes") + " bytes. " + r.get("uses"));
        }
    }
}
