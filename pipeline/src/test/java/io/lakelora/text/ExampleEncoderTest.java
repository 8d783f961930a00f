package io.lakelora.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.tokenizer.Tokenizer;
import io.lakelora.util.Assets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Token-level masks on real tokenizers: stories260K (no chat template: fallbacks) and LLaMA-3 (its own template). */
class ExampleEncoderTest {
    private static Tokenizer stories;
    private static Tokenizer llama3;

    @BeforeAll
    static void load() {
        stories = Tokenizer.load(Assets.require("models/stories260K-hf"));
        llama3 = Tokenizer.load(Assets.require("tokenizers/llama3"));
    }

    @AfterAll
    static void close() {
        stories.close();
        llama3.close();
    }

    private static int[] select(ExampleEncoder.Encoded e, boolean trained) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < e.inputIds().length; i++) {
            if ((e.labels()[i] != Packing.IGNORE) == trained) out.add(e.inputIds()[i]);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Masked tokens form one prefix and every trained label equals its input id. */
    private static void assertPromptThenResponse(ExampleEncoder.Encoded e) {
        int i = 0;
        while (i < e.labels().length && e.labels()[i] == Packing.IGNORE) i++;
        assertEquals(e.maskedTokens(), i, "masked tokens are exactly the leading ones");
        for (; i < e.labels().length; i++) assertEquals(e.inputIds()[i], e.labels()[i], "label at " + i);
    }

    @Test
    void textDocumentsGetBosAndATrainedEos() {
        ExampleEncoder enc = new ExampleEncoder(stories, ChatTemplate.builtin("chatml"), false);
        String text = "Once upon a time, Ben saw a cat.";
        ExampleEncoder.Encoded e = enc.encodeText(text);
        assertEquals(1, e.inputIds()[0], "BOS of stories260K is id 1 (tokenizer_config bos_token <s>)");
        assertEquals(2, e.inputIds()[e.inputIds().length - 1], "EOS </s> is id 2");
        assertArrayEquals(e.inputIds(), e.labels());
        assertEquals(text, stories.decode(e.inputIds(), true));
    }

    @Test
    void alpacaFallbackMasksExactlyThePrompt() {
        ExampleEncoder enc = new ExampleEncoder(stories, ChatTemplate.builtin("alpaca"), false);
        // the first row of the shared llamafactory_identity.json
        ExampleEncoder.Encoded e = enc.encodeChat(ChatMessage.fromInstruction(
                "hi",
                "",
                "Hello! I am {{name}}, an AI assistant developed by {{author}}. How can I assist you today?"));
        assertPromptThenResponse(e);
        assertEquals(
                "Below is an instruction that describes a task. Write a response that appropriately completes the "
                        + "request.\n\n### Instruction:\nhi\n\n### Response:\n",
                stories.decode(select(e, false), true));
        assertEquals(
                "Hello! I am {{name}}, an AI assistant developed by {{author}}. How can I assist you today?</s>",
                stories.decode(select(e, true), false));
        int[] ids = e.inputIds();
        assertEquals(2, ids[ids.length - 1]);
        assertEquals(
                1, Arrays.stream(ids).filter(x -> x == 2).count(), "EOS once: the template wrote it, none appended");
        assertEquals("all_assistant_turns", e.maskMode());
    }

    @Test
    void chatmlFallbackTrainsEveryAssistantTurnAndAppendsEos() {
        ExampleEncoder enc = new ExampleEncoder(stories, ChatTemplate.builtin("chatml"), false);
        ExampleEncoder.Encoded e = enc.encodeChat(List.of(
                ChatMessage.user("Hi"),
                ChatMessage.assistant("Hello."),
                ChatMessage.user("Bye"),
                ChatMessage.assistant("See you.")));
        assertEquals("Hello.<|im_end|>\nSee you.<|im_end|>\n</s>", stories.decode(select(e, true), false));
        assertEquals(
                "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<|im_start|>user\nBye<|im_end|>\n"
                        + "<|im_start|>assistant\n",
                stories.decode(select(e, false), true));
        assertEquals(2, e.labels()[e.labels().length - 1], "appended EOS is trained");
    }

    @Test
    void llama3OwnTemplate() {
        ChatTemplate own = ChatTemplate.select(llama3.chatTemplate(), null, null);
        ExampleEncoder enc = new ExampleEncoder(llama3, own, false);
        ExampleEncoder.Encoded e = enc.encodeChat(List.of(ChatMessage.user("hi"), ChatMessage.assistant("Hello!")));
        assertPromptThenResponse(e);
        assertEquals(
                "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                llama3.decode(select(e, false), false));
        // the asset's (base-model) template always ends with a generation prompt, which follows the reply
        assertEquals(
                "Hello!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<|end_of_text|>",
                llama3.decode(select(e, true), false));
    }

    @Test
    void trainOnInputsTrainsEverything() {
        ExampleEncoder enc = new ExampleEncoder(stories, ChatTemplate.builtin("chatml"), true);
        ExampleEncoder.Encoded e = enc.encodeChat(List.of(ChatMessage.user("Hi"), ChatMessage.assistant("Yo")));
        assertArrayEquals(e.inputIds(), e.labels());
        assertEquals(0, e.maskedTokens());
    }

    @Test
    void padIsNeverEos() {
        assertEquals(0, ExampleEncoder.padId(stories, -1), "stories260K has no pad_token: <unk> (id 0) pads");
        assertEquals(5, ExampleEncoder.padId(stories, 5));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> ExampleEncoder.padId(stories, 2));
        assertTrue(e.getMessage().contains("pack.pad_token_id"), e.getMessage());
    }
}
