package io.lakelora.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Records as ordered snake_case maps for the commands' JSON. */
class FieldsTest {

    record Sample(String prompt, String adapterText) {}

    record Eval(
            String adapterName,
            int version,
            long datasetVersion,
            double evalLoss,
            @Fields.Key("report") String reportDir,
            @Fields.Skip byte[] weights,
            List<Sample> samples,
            Map<String, Sample> byName,
            Map<String, Long> counts,
            Sample best,
            String nothing) {}

    @Test
    void snakeCaseOfComponentNames() {
        assertEquals("dataset_version", Fields.snakeCase("datasetVersion"));
        assertEquals("resumed_from_step", Fields.snakeCase("resumedFromStep"));
        assertEquals("source_sha256", Fields.snakeCase("sourceSha256"));
        assertEquals("sha256", Fields.snakeCase("sha256"));
        assertEquals("scale_a", Fields.snakeCase("scaleA"));
        assertEquals("a", Fields.snakeCase("a"));
        assertEquals("peft_url_path", Fields.snakeCase("peftURLPath"));
        assertEquals("peft_url", Fields.snakeCase("peftURL"));
        assertEquals("top2_k", Fields.snakeCase("top2K"));
        assertEquals("already_snake", Fields.snakeCase("already_snake"));
    }

    @Test
    void componentsInOrderWithKeySkipAndNesting() {
        Map<String, Long> counts = new TreeMap<>(Map.of("rows_read", 5L, "clean", 4L));
        Eval e = new Eval(
                "bot",
                3,
                7L,
                1.5,
                "/reports/3",
                new byte[] {1, 2},
                List.of(new Sample("Once", " upon"), new Sample("The", " end")),
                Map.of("first", new Sample("A", "b")),
                counts,
                new Sample("x", "y"),
                null);
        LinkedHashMap<String, Object> m = Fields.of(e);

        assertEquals(
                List.of(
                        "adapter_name",
                        "version",
                        "dataset_version",
                        "eval_loss",
                        "report",
                        "samples",
                        "by_name",
                        "counts",
                        "best",
                        "nothing"),
                new ArrayList<>(m.keySet()),
                "declaration order, snake_case, @Key renamed, @Skip left out");
        assertEquals("bot", m.get("adapter_name"));
        assertEquals(3, m.get("version"));
        assertEquals(7L, m.get("dataset_version"));
        assertEquals(1.5, m.get("eval_loss"));
        assertEquals("/reports/3", m.get("report"));
        assertTrue(m.containsKey("nothing"), "a null component is kept, as null");
        assertNull(m.get("nothing"));

        Map<String, Object> once = new LinkedHashMap<>();
        once.put("prompt", "Once");
        once.put("adapter_text", " upon");
        Map<String, Object> end = new LinkedHashMap<>();
        end.put("prompt", "The");
        end.put("adapter_text", " end");
        assertEquals(List.of(once, end), m.get("samples"), "a list of records: a list of maps");
        Object firstSample = ((List<?>) m.get("samples")).get(0);
        assertEquals(
                List.of("prompt", "adapter_text"),
                new ArrayList<>(((Map<?, ?>) firstSample).keySet()),
                "nested maps keep declaration order too");
        assertEquals(Map.of("first", Map.of("prompt", "A", "adapter_text", "b")), m.get("by_name"));
        assertEquals(Map.of("prompt", "x", "adapter_text", "y"), m.get("best"), "a nested record: a map");
        assertEquals(
                List.of("clean", "rows_read"),
                new ArrayList<>(((Map<?, ?>) m.get("counts")).keySet()),
                "a map's keys stay as they are (data, not names), in its own order");
    }

    @Test
    void theMapIsMutableAndReplacingKeepsThePlace() {
        record Result(String runId, @Fields.Key("status") boolean created, double seconds) {}
        LinkedHashMap<String, Object> m = Fields.of(new Result("r1", true, 1.25));
        m.put("status", "quantized");
        m.put("extra", 1);
        assertEquals(List.of("run_id", "status", "seconds", "extra"), new ArrayList<>(m.keySet()));
        assertEquals("quantized", m.get("status"));
    }

    @Test
    void setsOfRecordsBecomeLists() {
        record Tag(String name) {}
        record Tagged(Set<Tag> tags) {}
        assertEquals(
                List.of(Map.of("name", "a")),
                Fields.of(new Tagged(Set.of(new Tag("a")))).get("tags"));
    }

    @Test
    void conflictingKeysFailNamingTheComponent() {
        record Clash(String status, @Fields.Key("status") boolean created) {}
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Fields.of(new Clash("ok", true)));
        assertTrue(e.getMessage().contains("'created'") && e.getMessage().contains("'status'"), e.getMessage());

        record Both(@Fields.Key("x") @Fields.Skip int y) {}
        e = assertThrows(IllegalArgumentException.class, () -> Fields.of(new Both(1)));
        assertTrue(e.getMessage().contains("both @Fields.Key and @Fields.Skip"), e.getMessage());

        record Blank(@Fields.Key(" ") int y) {}
        e = assertThrows(IllegalArgumentException.class, () -> Fields.of(new Blank(1)));
        assertTrue(e.getMessage().contains("blank @Fields.Key"), e.getMessage());
    }
}
