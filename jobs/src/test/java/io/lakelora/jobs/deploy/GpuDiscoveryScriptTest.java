package io.lakelora.jobs.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/getGpusResources.sh against a stand-in nvidia-smi (this machine has no GPU): the output is the JSON Spark's
 * discovery reads (ResourceInformation: name "gpu", addresses as strings), and a missing or failing nvidia-smi is an
 * error, never an empty GPU list.
 */
class GpuDiscoveryScriptTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A fake nvidia-smi printing {@code output} for --query-gpu=index and exiting with {@code code}. */
    private static Path fakeNvidiaSmi(Path dir, String output, int code) throws Exception {
        Path f = dir.resolve("nvidia-smi");
        Files.writeString(
                f,
                "#!/bin/sh\n[ \"$1\" = \"--query-gpu=index\" ] || { echo bad args \"$@\" >&2; exit 9; }\n" + "printf '"
                        + output + "'\nexit " + code + "\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
        return dir;
    }

    private static ProjectFiles.Result discover(Path pathDir) throws Exception {
        return ProjectFiles.run(List.of("bin/getGpusResources.sh"), Map.of("PATH", pathDir + ":/usr/bin:/bin"));
    }

    @Test
    void listsTheGpuIndicesAsSparkResourceJson(@TempDir Path dir) throws Exception {
        // nvidia-smi --format=csv,noheader prints one index per line (padding tolerated)
        ProjectFiles.Result r = discover(fakeNvidiaSmi(dir, "0\\n1\\n 2\\n3\\n", 0));
        assertEquals(0, r.code(), r.out());
        JsonNode info = JSON.readTree(r.out());
        assertEquals("gpu", info.path("name").asText());
        assertEquals("[\"0\",\"1\",\"2\",\"3\"]", info.path("addresses").toString());
    }

    @Test
    void oneGpu(@TempDir Path dir) throws Exception {
        ProjectFiles.Result r = discover(fakeNvidiaSmi(dir, "0\\n", 0));
        assertEquals(0, r.code(), r.out());
        assertEquals("{\"name\":\"gpu\",\"addresses\":[\"0\"]}", r.out().strip());
    }

    @Test
    void failsWithoutNvidiaSmiOrWhenItFails(@TempDir Path dir) throws Exception {
        Path empty = Files.createDirectories(dir.resolve("empty"));
        ProjectFiles.Result missing = discover(empty);
        assertNotEquals(0, missing.code());
        assertTrue(missing.out().contains("nvidia-smi not found"), missing.out());
        ProjectFiles.Result failing =
                discover(fakeNvidiaSmi(Files.createDirectories(dir.resolve("f")), "NVIDIA-SMI has failed\\n", 9));
        assertNotEquals(0, failing.code());
        assertTrue(failing.out().contains("failed"), failing.out());
        ProjectFiles.Result garbage =
                discover(fakeNvidiaSmi(Files.createDirectories(dir.resolve("g")), "No devices were found\\n", 0));
        assertNotEquals(0, garbage.code(), "non-numeric output is an error: " + garbage.out());
    }
}
