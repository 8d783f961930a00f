package io.lakelora.jobs.testing;

import io.lakelora.jobs.common.JobConfigs;
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

    /** Loads a job config with overrides and the local environment overlay, as {@code bin/lakelora} does. */
    public static <T> T load(String file, Class<T> type, String... overrides) {
        return JobConfigs.load(List.of(conf(file).toString()), new ArrayList<>(List.of(overrides)), type, "local");
    }

    /**
     * The demo model's directory (stories260K in HF layout) when {@code path} is null: the job configs name the base
     * by {@code model.id} (a lake copy from job 00); tests that run a job without job 00 give the directory itself.
     * Otherwise {@link #asset(String)}.
     */
    public static String assetOrModel(String path) {
        return path == null ? Assets.require("models/stories260K-hf").toString() : asset(path);
    }

    /** ../shared/assets/x -> <assets root>/x (conf files name assets relative to the repository root). */
    public static String asset(String path) {
        String prefix = "../shared/assets/";
        return path.startsWith(prefix)
                ? Assets.root().resolve(path.substring(prefix.length())).toString()
                : path;
    }
}
