package io.lakelora.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.util.Assets;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * jinjava renderings compared with Python jinja2's on the real templates of the shared assets (llama3, qwen3), Gemma 3's
 * (a fixture: no Gemma tokenizer in the assets) and the built-in fallbacks. Golden file: fixtures/chat_templates/chat_golden.json, written by make_chat_golden.py beside it.
 */
class ChatTemplateTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> STORIES = ChatTemplate.specialTokens("<s>", "</s>", "<unk>", null);

    private static JsonNode golden() throws IOException {
        try (InputStream in = ChatTemplateTest.class.getResourceAsStream("/fixtures/chat_templates/chat_golden.json")) {
            return JSON.readTree(in);
        }
    }

    private static ChatTemplate load(String how) throws IOException {
        if (how.startsWith("builtin:")) return ChatTemplate.builtin(how.substring(8));
        if (how.startsWith("fixture:")) {
            String rel = how.substring("fixture:".length());
            try (InputStream in = ChatTemplateTest.class.getResourceAsStream("/fixtures/" + rel)) {
                if (in == null) throw new IllegalStateException("fixture missing: " + rel);
                return ChatTemplate.of(
                        rel, JSON.readTree(in).get("chat_template").asText());
            }
        }
        String rel = how.substring("asset:".length());
        return ChatTemplate.of(
                rel,
                JSON.readTree(Assets.require(rel).toFile()).get("chat_template").asText());
    }

    private static List<ChatMessage> messages(JsonNode arr) {
        List<ChatMessage> out = new ArrayList<>();
        arr.forEach(m ->
                out.add(new ChatMessage(m.get("role").asText(), m.get("content").asText())));
        return out;
    }

    @Test
    void matchesJinja2OnEveryGoldenCase() throws IOException {
        JsonNode g = golden();
        Map<String, ChatTemplate> cache = new HashMap<>();
        int checked = 0;
        for (JsonNode c : g.get("cases")) {
            String how = c.get("load").asText();
            ChatTemplate t = cache.get(how);
            if (t == null) cache.put(how, t = load(how));
            Map<String, String> special = new LinkedHashMap<>();
            c.get("special_tokens")
                    .fields()
                    .forEachRemaining(e -> special.put(e.getKey(), e.getValue().asText()));
            List<ChatMessage> msgs = messages(c.get("messages"));
            boolean agp = c.get("add_generation_prompt").asBoolean();
            String label =
                    c.get("template").asText() + "/" + c.get("conversation").asText() + "/agp=" + agp;
            if (c.has("error")) {
                final ChatTemplate tt = t;
                ChatTemplate.TemplateException e =
                        assertThrows(ChatTemplate.TemplateException.class, () -> tt.render(msgs, agp, special), label);
                assertTrue(e.getMessage().contains(c.get("error").asText()), label + ": " + e.getMessage());
            } else {
                assertEquals(c.get("output").asText(), t.render(msgs, agp, special), label);
            }
            checked++;
        }
        assertEquals(70, checked);
    }

    @Test
    void trainingSpansAreTheAssistantTurns() {
        List<ChatMessage> conv = List.of(
                ChatMessage.user("2+2?"),
                ChatMessage.assistant("4"),
                ChatMessage.user("3+3?"),
                ChatMessage.assistant("6"));
        ChatTemplate.Rendered r = ChatTemplate.builtin("chatml").renderForTraining(conv, STORIES);
        assertEquals("all_assistant_turns", r.maskMode());
        assertEquals(List.of("4<|im_end|>\n", "6<|im_end|>\n"), spans(r));
        assertTrue(r.text().startsWith("<s><|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4"), r.text());

        ChatTemplate.Rendered a = ChatTemplate.builtin("alpaca")
                .renderForTraining(ChatMessage.fromInstruction("Add.", "2 and 2", "4"), STORIES);
        assertEquals(List.of("4</s>"), spans(a));
        assertTrue(a.text().contains("### Instruction:\nAdd.\n\n2 and 2\n\n### Response:\n4</s>"), a.text());
    }

    @Test
    void qwen3TrainsOnlyTheLastTurnOfMultiTurnConversations() throws IOException {
        ChatTemplate q = load("asset:tokenizers/qwen3/qwen3-tokenizer_config.json");
        Map<String, String> special = ChatTemplate.specialTokens(null, "<|im_end|>", null, "<|endoftext|>");
        ChatTemplate.Rendered single =
                q.renderForTraining(List.of(ChatMessage.user("hi"), ChatMessage.assistant("hello")), special);
        assertEquals("all_assistant_turns", single.maskMode());
        assertEquals(List.of("<think>\n\n</think>\n\nhello<|im_end|>\n"), spans(single));

        ChatTemplate.Rendered multi = q.renderForTraining(
                List.of(
                        ChatMessage.user("2+2?"),
                        ChatMessage.assistant("<think>\nadd\n</think>\n\n4"),
                        ChatMessage.user("3+3?"),
                        ChatMessage.assistant("6")),
                special);
        assertEquals("last_assistant_turn", multi.maskMode());
        assertEquals(List.of("<think>\n\n</think>\n\n6<|im_end|>\n"), spans(multi));

        ChatTemplate.TemplateException e = assertThrows(
                ChatTemplate.TemplateException.class,
                () -> q.renderForTraining(
                        List.of(
                                ChatMessage.user("2+2?"),
                                ChatMessage.assistant("<think>\nx\n</think>\n\n4"),
                                ChatMessage.user("and?")),
                        special));
        assertTrue(e.getMessage().contains("does not end with an assistant turn"), e.getMessage());
    }

    /**
     * Gemma 3's template is prefix-stable (each turn renders the same whatever follows), so every model turn trains:
     * the turn's text, trimmed as the template trims it, through {@code <end_of_turn>\n}; a system message becomes the
     * first user turn's prefix.
     */
    @Test
    void gemma3TrainsEveryModelTurn() throws IOException {
        ChatTemplate g = load("fixture:chat_templates/gemma3_tokenizer_config.json");
        Map<String, String> special = ChatTemplate.specialTokens("<bos>", "<eos>", null, "<pad>");
        ChatTemplate.Rendered r = g.renderForTraining(
                List.of(
                        ChatMessage.system("Be brief."),
                        ChatMessage.user("2+2?"),
                        ChatMessage.assistant(" 4 "),
                        ChatMessage.user("3+3?"),
                        ChatMessage.assistant("6")),
                special);
        assertEquals("all_assistant_turns", r.maskMode());
        assertEquals(List.of("4<end_of_turn>\n", "6<end_of_turn>\n"), spans(r));
        assertTrue(
                r.text().startsWith("<bos><start_of_turn>user\nBe brief.\n\n2+2?<end_of_turn>\n<start_of_turn>model\n"),
                r.text());
    }

    private static List<String> spans(ChatTemplate.Rendered r) {
        return r.trainSpans().stream().map(s -> r.text().substring(s[0], s[1])).toList();
    }

    @Test
    void conversationWithoutAssistantIsRejected() {
        ChatTemplate.TemplateException e = assertThrows(
                ChatTemplate.TemplateException.class,
                () -> ChatTemplate.builtin("chatml").renderForTraining(List.of(ChatMessage.user("x")), STORIES));
        assertTrue(e.getMessage().contains("no assistant turn"), e.getMessage());
    }

    @Test
    void compatRewrites() {
        assertEquals("{% for m in (messages|reverse) %}", ChatTemplate.compat("{% for m in messages[::-1] %}"));
        assertEquals(
                "{% set ns = namespace(a=(true), b=(messages|length - 1)) %}",
                ChatTemplate.compat("{% set ns = namespace(a=true, b=messages|length - 1) %}"));
        assertEquals("{{ x == 1 }}", ChatTemplate.compat("{{ x == 1 }}"));
    }

    @Test
    void selectionOrderAndErrors() {
        assertEquals(
                "alpaca",
                ChatTemplate.select(Optional.of("{{ 'x' }}"), "alpaca", "chatml")
                        .name());
        assertEquals(
                "model",
                ChatTemplate.select(Optional.of("{{ 'x' }}"), null, "chatml").name());
        assertEquals(
                "chatml", ChatTemplate.select(Optional.empty(), null, "chatml").name());
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> ChatTemplate.select(Optional.empty(), null, null));
        assertTrue(e.getMessage().contains("template.fallback"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ChatTemplate.builtin("vicuna"));
        assertTrue(e.getMessage().contains("vicuna") && e.getMessage().contains("chatml"), e.getMessage());
    }

    @Test
    void pythonStringMethods() {
        ChatTemplate t = ChatTemplate.of(
                "t",
                "{{ messages[0].content.split('|')[-1].strip('x') }}"
                        + "{{ messages[0].content.startswith('a') }}{{ ' '.join(['p', 'q']) }}");
        assertEquals("bcfalsep q", t.render(List.of(ChatMessage.user("q|xbcx")), false, Map.of()));
    }
}
