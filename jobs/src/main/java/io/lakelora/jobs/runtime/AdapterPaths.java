package io.lakelora.jobs.runtime;

import io.lakelora.jobs.common.LakePaths;

/**
 * Where adapter artifacts live in the lake (next to the tables of {@link LakePaths}): the registry tables under
 * {@code <lake>/registry}, PEFT exports under {@code <lake>/exports/<name>/v<version>}, evaluation reports under
 * {@code <lake>/adapters/<name>/v<version>/evaluation}.
 */
public final class AdapterPaths {
    private AdapterPaths() {}

    public static String registryRoot(String lakeRoot) {
        return io.lakelora.jobs.registry.AdapterRegistry.rootOf(lakeRoot);
    }

    public static String exportDir(String lakeRoot, String name, int version) {
        return new LakePaths(lakeRoot).root() + "/exports/" + name + "/v" + version;
    }

    public static String evaluationDir(String lakeRoot, String name, int version) {
        return new LakePaths(lakeRoot).root() + "/adapters/" + name + "/v" + version + "/evaluation";
    }
}
