package io.lakelora.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Hostile chat templates: huge loops, deep recursion and huge output fail fast with an error naming the limit. */
class ChatTemplateLimitsTest {
    static final List<ChatMessage> CHAT = List.of(new ChatMessage("user", "hi"), new ChatMessage("assistant", "hello"));

    static String render(ChatTemplate t) {
        return t.render(CHAT, false, Map.of());
    }

    static ChatTemplate.TemplateException fails(ChatTemplate t) {
        return assertTimeoutPreemptively(
                Duration.ofSeconds(60), () -> assertThrows(ChatTemplate.TemplateException.class, () -> render(t)));
    }

    @Test
    void aHugeNestedLoopHitsTheStepLimit() {
        // 10^9 iterations of a non-empty body: hours without a bound
        String src = "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
                + "{% if c < 0 %}x{% endif %}{% endfor %}{% endfor %}{% endfor %}";
        ChatTemplate.TemplateException e = fails(ChatTemplate.of("hostile-loop", src));
        System.out.println(e.getMessage());
        assertTrue(
                e.getMessage().contains("chat template 'hostile-loop' exceeded 2000000 render steps"), e.getMessage());
        assertTrue(e.getMessage().contains(ChatTemplate.Limits.MAX_STEPS_PROPERTY), e.getMessage());
    }

    @Test
    void theStepLimitCountsLoopIterations() {
        String src = "{% for i in range(300) %}{{ i }},{% endfor %}";
        // each iteration renders two nodes ({{ i }} and ","), plus the for tag itself
        assertEquals(
                300,
                render(ChatTemplate.of("ok", src, new ChatTemplate.Limits(1 << 20, 601, 64)))
                        .split(",")
                        .length);
        ChatTemplate.TemplateException e =
                fails(ChatTemplate.of("tight", src, new ChatTemplate.Limits(1 << 20, 600, 64)));
        assertTrue(e.getMessage().contains("exceeded 600 render steps"), e.getMessage());
    }

    @Test
    void deepRecursionHitsTheDepthLimit() {
        String src = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}";
        ChatTemplate.TemplateException e = fails(ChatTemplate.of("hostile-recursion", src));
        System.out.println(e.getMessage());
        assertTrue(e.getMessage().contains("chat template 'hostile-recursion'"), e.getMessage());
        assertTrue(e.getMessage().contains("recursion depth limit 64"), e.getMessage());
    }

    @Test
    void boundedRecursionStillWorks() {
        String src = "{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(5) }}";
        assertEquals("54321", render(ChatTemplate.of("countdown", src)));
    }

    @Test
    void hugeOutputHitsTheOutputLimit() {
        // doubling a string 40 times: 2^40 characters (2 TiB) without a bound
        String src = "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
                + "{{ ns.s }}";
        ChatTemplate.TemplateException e = fails(ChatTemplate.of("hostile-output", src));
        System.out.println(e.getMessage());
        assertTrue(
                e.getMessage().contains("chat template 'hostile-output' exceeded the output size limit 16777216"),
                e.getMessage());
        String plain = "{% for i in range(1000) %}0123456789{% endfor %}";
        ChatTemplate.TemplateException small =
                fails(ChatTemplate.of("wide", plain, new ChatTemplate.Limits(5000, 1_000_000, 64)));
        assertTrue(small.getMessage().contains("exceeded the output size limit 5000 characters"), small.getMessage());
        assertEquals(
                10_000,
                render(ChatTemplate.of("wide", plain, new ChatTemplate.Limits(10_000, 1_000_000, 64)))
                        .length());
    }
}
