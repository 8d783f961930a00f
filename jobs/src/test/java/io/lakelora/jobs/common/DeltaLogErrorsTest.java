package io.lakelora.jobs.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.cli.Cli;
import io.lakelora.error.BadInputException;
import io.lakelora.error.ExitCodes;
import io.lakelora.jobs.testing.TestSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A table whose {@code _delta_log} is not a Delta log is bad input (exit 3) that names the table and the fix. */
class DeltaLogErrorsTest {
    static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = TestSpark.start(java.util.Map.of());
    }

    @AfterAll
    static void stop() {
        TestSpark.stop(spark);
    }

    @Test
    void aCorruptLogIsExitThreeWithTheFix(@TempDir Path dir) throws Exception {
        String table = dir.resolve("t").toUri().toString();
        spark.range(3).write().format("delta").save(table);
        assertEquals(0, Delta.version(spark, table), "a valid table first");
        try (var logs = Files.list(dir.resolve("t/_delta_log"))) {
            for (Path f : logs.toList()) {
                if (f.getFileName().toString().endsWith(".crc")) Files.delete(f);
                else if (f.toString().endsWith(".json")) Files.writeString(f, "{\"commitInfo\": not json at all\n");
            }
        }
        BadInputException e = assertThrows(
                BadInputException.class,
                () -> Delta.version(SparkSession.active().newSession(), table));
        assertTrue(
                e.getMessage().contains(table)
                        && e.getMessage().contains("_delta_log")
                        && e.getMessage().contains("Fix:"),
                e.getMessage());
        assertEquals(ExitCodes.BAD_INPUT, Cli.exitCodeFor(e));
    }

    @Test
    void aMissingTableHasNoVersion(@TempDir Path dir) {
        assertEquals(-1, Delta.version(spark, dir.resolve("none").toUri().toString()));
    }
}
