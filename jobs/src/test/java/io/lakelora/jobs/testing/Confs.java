package io.lakelora.jobs.testing;

import io.lakelora.config.ConfigLoader;
import io.lakelora.util.Assets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Loads the project's conf/ files in tests (the repository root is the system property lakelora.root). */
public final class Confs {
    private Confs() {}

    public static Path root() {
        String r = System.getProperty("lakelora.root");
        if (r == null) throw new IllegalStateException("system property lakelora.root is not set (run through Maven)");
        return Path.of(r);
    }

    public static Path conf(String name) {
        return root().resolve("conf").resolve(name);
    }

    /** Loads a job config with overrides, then points relative ../shared/assets paths at the assets root. */
    public static <T> T load(String file, Class<T> type, String... overrides) {
        return ConfigLoader.load(List.of(conf(file)), new ArrayList<>(List.of(overrides)), type);
    }

    /** ../shared/assets/x -> <assets root>/x (conf files name assets relative to the repository root). */
    public static String asset(String path) {
        String prefix = "../shared/assets/";
        return path.startsWith(prefix) ? Assets.root().resolve(path.substring(prefix.length())).toString() : path;
    }
}
