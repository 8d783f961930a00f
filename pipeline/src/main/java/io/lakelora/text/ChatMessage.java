package io.lakelora.text;

import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** One turn of a conversation, as chat templates see it: {@code {role, content}}. */
public record ChatMessage(String role, String content) implements Serializable {
    /** The roles a training conversation may use. */
    public static final Set<String> ROLES = Set.of("system", "user", "assistant", "tool");

    public ChatMessage {
        if (role == null || role.isEmpty()) throw new IllegalArgumentException("chat message without a role");
        if (content == null) throw new IllegalArgumentException("chat message (role " + role + ") without content");
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }

    /**
     * An instruction row (Alpaca: instruction, optional input, output) as a two-turn conversation: the user turn is the
     * instruction, followed by a blank line and the input when there is one; the assistant turn is the output.
     */
    public static List<ChatMessage> fromInstruction(String instruction, String input, String output) {
        String user = input == null || input.isBlank() ? instruction : instruction + "\n\n" + input;
        return List.of(user(user), assistant(output));
    }

    /** The map a Jinja template indexes ({@code message['role']}, {@code message.content}). */
    Map<String, Object> asTemplateMap() {
        return Map.of("role", role, "content", content);
    }
}
