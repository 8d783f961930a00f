package io.lakelora.jobs.lake;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.error.BadInputException;
import io.lakelora.error.BoundedReads;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Small JSON files read from the lake (lineage, markers, pointers, configs) are size-capped: a hostile one fails. */
class LakeFsJsonCapTest {
    @Test
    void anOversizedJsonFileIsAClearErrorAndASmallOneReads(@TempDir Path dir) throws Exception {
        LakeFs fs = new LakeFs(new Configuration());
        Path small = dir.resolve("adapter_config.json");
        Files.writeString(small, "{\"r\": 8}");
        assertArrayEquals(
                "{\"r\": 8}".getBytes(StandardCharsets.UTF_8),
                fs.readJson(small.toUri().toString()));

        Path big = dir.resolve("lineage.json");
        Files.write(big, new byte[4096]); // a "JSON" file far over the cap below
        String old = System.getProperty(BoundedReads.JSON_PROPERTY);
        System.setProperty(BoundedReads.JSON_PROPERTY, "1024");
        try {
            BadInputException e = assertThrows(
                    BadInputException.class, () -> fs.readJson(big.toUri().toString()));
            assertTrue(
                    e.getMessage().contains("lineage.json")
                            && e.getMessage().contains("1024 bytes")
                            && e.getMessage().contains("-D" + BoundedReads.JSON_PROPERTY),
                    e.getMessage());
        } finally {
            if (old == null) System.clearProperty(BoundedReads.JSON_PROPERTY);
            else System.setProperty(BoundedReads.JSON_PROPERTY, old);
        }
    }
}
