package io.lakelora.text;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.el.JinjavaProcessors;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jinjava.javax.el.CompositeELResolver;

/**
 * A Hugging Face chat template ({@code chat_template} of {@code tokenizer_config.json}) rendered with jinjava the way
 * transformers renders it with Python's jinja2: {@code trim_blocks} and {@code lstrip_blocks} on, whitespace control
 * on expressions, {@code messages}, {@code add_generation_prompt}, the special tokens ({@code bos_token},
 * {@code eos_token}, ...) and {@code raise_exception(msg)} in scope. Where jinjava lacks a Python feature that real
 * templates use, this class bridges it: Python {@code str} methods and negative list indexes ({@link PyStringResolver}),
 * the {@code x[::-1]} reversal and keyword arguments of {@code namespace(..)} that hold expressions (rewritten in
 * {@link #compat}). Output equality with jinja2 is checked on the real templates in the shared assets
 * ({@code ChatTemplateTest}, golden strings written by {@code make_chat_golden.py}).
 *
 * <p>Built-in fallbacks for models without a template: {@code alpaca}, {@code chatml}, {@code llama3},
 * {@code mistral} ({@link #builtin}). Instances are thread-safe.
 *
 * <p>A model's template is untrusted input rendered on every executor, so rendering is bounded ({@link Limits}): the
 * output and any string value in characters, list and map sizes, the render steps (template nodes rendered; every
 * loop iteration renders its body, so this bounds loop iterations, nested loops included), and macro recursion and
 * render depth. Exceeding one fails with a {@link TemplateException} naming the template, the limit and its system
 * property.
 */
public final class ChatTemplate {
    /** Names accepted by {@link #builtin(String)}. */
    public static final List<String> BUILTINS = List.of("alpaca", "chatml", "llama3", "mistral");

    private static final Pattern REVERSE_SLICE =
            Pattern.compile("([A-Za-z_][A-Za-z0-9_.]*(?:\\[[^\\[\\]]*\\])*)\\[::-1\\]");

    /** Render steps taken by the render running on this thread (jinjava renders on the calling thread). */
    private static final ThreadLocal<long[]> STEPS = new ThreadLocal<>();

    /**
     * Bounds on one render. Defaults are generous for real conversations (a 100k-token conversation renders to about
     * 0.5 M characters and some 10^4 steps) and come from system properties.
     *
     * @param maxOutputChars    output and string-value length, in characters ({@value #MAX_OUTPUT_PROPERTY},
     *                          default 16 Mi)
     * @param maxSteps          template nodes rendered, loop bodies once per iteration ({@value #MAX_STEPS_PROPERTY},
     *                          default 2 M)
     * @param maxRecursionDepth macro recursion depth, also the render depth ({@value #MAX_DEPTH_PROPERTY}, default 64)
     */
    public record Limits(long maxOutputChars, long maxSteps, int maxRecursionDepth) {
        public static final String MAX_OUTPUT_PROPERTY = "lakelora.template.max.output.chars";
        public static final String MAX_STEPS_PROPERTY = "lakelora.template.max.steps";
        public static final String MAX_DEPTH_PROPERTY = "lakelora.template.max.depth";

        public Limits {
            if (maxOutputChars < 1 || maxSteps < 1 || maxRecursionDepth < 1) {
                throw new IllegalArgumentException("chat template limits must be >= 1, got output " + maxOutputChars
                        + ", steps " + maxSteps + ", depth " + maxRecursionDepth);
            }
        }

        /** The defaults, each overridable by its system property. */
        public static Limits defaults() {
            return new Limits(
                    Long.getLong(MAX_OUTPUT_PROPERTY, 16L << 20),
                    Long.getLong(MAX_STEPS_PROPERTY, 2_000_000L),
                    Integer.getInteger(MAX_DEPTH_PROPERTY, 64));
        }
    }

    /** Thrown by the step counter; not caught by jinjava's tag rendering (preProcess runs outside its try). */
    private static final class StepLimitExceeded extends RuntimeException {
        StepLimitExceeded() {
            super("render step limit", null, false, false);
        }
    }

    private final String name;
    private final String source;
    private final String compiled;
    private final Jinjava jinjava;
    private final Limits limits;

    private ChatTemplate(String name, String source, Limits limits) {
        this.name = name;
        this.source = source;
        this.limits = limits;
        this.compiled = compat(source);
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PyStringResolver());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withFailOnUnknownTokens(false)
                .withNestedInterpretationEnabled(false)
                .withElResolver(resolver)
                .withMaxOutputSize(limits.maxOutputChars())
                .withMaxStringLength(limits.maxOutputChars())
                .withMaxListSize((int) Math.min(Integer.MAX_VALUE, limits.maxSteps()))
                .withMaxMapSize((int) Math.min(Integer.MAX_VALUE, limits.maxSteps()))
                .withEnableRecursiveMacroCalls(true)
                .withMaxMacroRecursionDepth(limits.maxRecursionDepth())
                .withMaxRenderDepth(limits.maxRecursionDepth())
                .withProcessors(JinjavaProcessors.newBuilder()
                        .withNodePreProcessor((node, interpreter) -> step())
                        .build())
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withKeepNullableLoopValues(true)
                        .build())
                .build();
        this.jinjava = new Jinjava(config);
        try {
            jinjava.getGlobalContext()
                    .registerFunction(new ELFunctionDefinition(
                            "",
                            "raise_exception",
                            ChatTemplate.class.getDeclaredMethod("raiseException", String.class)));
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A template from its Jinja source; {@code name} is used in error messages. */
    public static ChatTemplate of(String name, String source) {
        return of(name, source, Limits.defaults());
    }

    /** A template from its Jinja source, rendered within {@code limits}. */
    public static ChatTemplate of(String name, String source, Limits limits) {
        if (source == null || source.isBlank()) {
            throw new IllegalArgumentException("chat template '" + name + "' is empty. Fix: give the Jinja source");
        }
        return new ChatTemplate(name, source, limits);
    }

    /** Counts one render step of the render on this thread; past the limit, every further step throws. */
    private void step() {
        long[] n = STEPS.get();
        if (n != null && ++n[0] > limits.maxSteps()) throw new StepLimitExceeded();
    }

    /** One of {@link #BUILTINS}. */
    public static ChatTemplate builtin(String name) {
        if (!BUILTINS.contains(name)) {
            throw new IllegalArgumentException("unknown built-in chat template '" + name + "', expected one of "
                    + BUILTINS + ". Fix: choose one of these");
        }
        String res = "templates/" + name + ".jinja";
        try (InputStream in = ChatTemplate.class.getResourceAsStream(res)) {
            if (in == null)
                throw new IllegalStateException("resource io/lakelora/text/" + res + " missing from the jar");
            return new ChatTemplate(name, new String(in.readAllBytes(), StandardCharsets.UTF_8), Limits.defaults());
        } catch (IOException e) {
            throw new UncheckedIOException("reading built-in template " + res, e);
        }
    }

    /**
     * The template to use for a model: {@code override} when set (a built-in name), else the model's own template, else
     * the built-in {@code fallback}.
     */
    public static ChatTemplate select(Optional<String> modelTemplate, String override, String fallback) {
        if (override != null && !override.isBlank()) return builtin(override);
        if (modelTemplate.isPresent() && !modelTemplate.get().isBlank()) return of("model", modelTemplate.get());
        if (fallback == null || fallback.isBlank()) {
            throw new IllegalArgumentException(
                    "the model's tokenizer has no chat_template and no fallback is set. Fix: "
                            + "set template.fallback to one of " + BUILTINS);
        }
        return builtin(fallback);
    }

    public String name() {
        return name;
    }

    public String source() {
        return source;
    }

    /** Called by templates as {@code raise_exception('...')}; fails the render with that message. */
    public static String raiseException(String message) {
        throw new TemplateException(message);
    }

    /** A render failure: the template raised, or jinjava reported an error. */
    public static final class TemplateException extends IllegalArgumentException {
        public TemplateException(String message) {
            super(message);
        }
    }

    /**
     * Renders the conversation. {@code specialTokens} maps names such as {@code bos_token} to their text (null values
     * are left undefined, as transformers does for unset tokens).
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, String> specialTokens) {
        Map<String, Object> ctx = new HashMap<>();
        List<Map<String, Object>> msgs = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) msgs.add(m.asTemplateMap());
        ctx.put("messages", msgs);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        specialTokens.forEach((k, v) -> {
            if (v != null) ctx.put(k, v);
        });
        RenderResult r;
        long[] steps = {0};
        long[] outer = STEPS.get();
        STEPS.set(steps);
        try {
            r = jinjava.renderForResult(compiled, ctx);
        } catch (TemplateException e) {
            throw e;
        } catch (RuntimeException e) {
            if (steps[0] > limits.maxSteps()) throw stepLimit();
            throw new TemplateException("chat template '" + name + "' failed: " + rootMessage(e));
        } finally {
            if (outer == null) STEPS.remove();
            else STEPS.set(outer);
        }
        if (steps[0] > limits.maxSteps()) throw stepLimit();
        // a limit hit is an error of any severity (jinjava reports macro recursion as a WARNING and renders on)
        for (TemplateError err : r.getErrors()) {
            String limit = limitOf(err);
            if (limit != null) throw limitError(limit, err);
        }
        for (TemplateError err : r.getErrors()) {
            if (err.getSeverity() == TemplateError.ErrorType.FATAL) {
                String msg = err.getMessage();
                if (err.getException() != null && findRaised(err.getException()) != null) {
                    msg = findRaised(err.getException());
                }
                throw new TemplateException("chat template '" + name + "' failed: " + msg
                        + (err.getLineno() > 0 ? " (line " + err.getLineno() + ")" : ""));
            }
        }
        return r.getOutput();
    }

    private TemplateException stepLimit() {
        return new TemplateException("chat template '" + name + "' exceeded " + limits.maxSteps() + " render steps "
                + "(template nodes rendered; loop bodies count once per iteration): a huge or runaway loop. Fix: use "
                + "a template without such loops, or raise -D" + Limits.MAX_STEPS_PROPERTY + " if the conversation "
                + "really needs it");
    }

    /** Which limit {@code err} reports ("depth", "collection", "output"), or null for another error. */
    private static String limitOf(TemplateError err) {
        TemplateError.ErrorReason why = err.getReason();
        if (why == TemplateError.ErrorReason.OUTPUT_TOO_BIG) return "output";
        if (why == TemplateError.ErrorReason.COLLECTION_TOO_BIG) return "collection";
        String msg = String.valueOf(err.getMessage());
        if (msg.contains("recursion limit") || msg.contains("Max render depth")) return "depth";
        for (Throwable t = err.getException(); t != null; t = t.getCause()) {
            String type = t.getClass().getSimpleName();
            if (type.equals("MacroTagCycleException")) return "depth";
            if (type.equals("OutputTooBigException")) return "output";
            if (type.equals("CollectionTooBigException")) return "collection";
        }
        if (msg.contains("OutputTooBigException")) return "output";
        if (msg.contains("CollectionTooBigException")) return "collection";
        return why == TemplateError.ErrorReason.OVER_LIMIT ? "output" : null;
    }

    private TemplateException limitError(String kind, TemplateError err) {
        String limit = switch (kind) {
            case "depth" ->
                "the recursion depth limit " + limits.maxRecursionDepth() + " (-D" + Limits.MAX_DEPTH_PROPERTY + ")";
            case "collection" ->
                "the list/map size limit " + limits.maxSteps() + " (-D" + Limits.MAX_STEPS_PROPERTY + ")";
            default ->
                "the output size limit " + limits.maxOutputChars() + " characters (-D" + Limits.MAX_OUTPUT_PROPERTY
                        + ")";
        };
        return new TemplateException("chat template '" + name + "' exceeded " + limit + ": " + err.getMessage()
                + ". Fix: use a template that renders a bounded conversation, or raise the limit if the "
                + "conversation really needs it");
    }

    private static String findRaised(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) if (c instanceof TemplateException) return c.getMessage();
        return null;
    }

    private static String rootMessage(Throwable t) {
        String raised = findRaised(t);
        if (raised != null) return raised;
        Throwable c = t;
        while (c.getCause() != null) c = c.getCause();
        return c.getMessage() == null ? c.toString() : c.getMessage();
    }

    /** A rendered training conversation: the text and the character spans the model is trained on. */
    public record Rendered(String text, List<int[]> trainSpans, String maskMode) {}

    /**
     * Renders a training conversation and finds which characters are assistant output. For each assistant turn k, the
     * prompt is {@code render(messages[:k], add_generation_prompt=true)} and the turn ends where
     * {@code render(messages[:k+1])} ends; the full text must start with both (the template is "prefix-stable"), and
     * then every assistant turn is trained ({@code maskMode = "all_assistant_turns"}). Templates that re-render earlier
     * turns differently (Qwen3 drops the reasoning of earlier turns) are not prefix-stable for multi-turn
     * conversations: then only the final assistant turn is trained ({@code "last_assistant_turn"}), which needs the
     * conversation to end with it. Otherwise a {@link TemplateException} says why.
     */
    public Rendered renderForTraining(List<ChatMessage> messages, Map<String, String> specialTokens) {
        List<Integer> assistants = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) if (messages.get(i).role().equals("assistant")) assistants.add(i);
        if (assistants.isEmpty()) throw new TemplateException("conversation has no assistant turn to train on");
        String full = render(messages, false, specialTokens);
        List<int[]> spans = new ArrayList<>();
        boolean stable = true;
        for (int k : assistants) {
            String prompt = render(messages.subList(0, k), true, specialTokens);
            String upTo = render(messages.subList(0, k + 1), false, specialTokens);
            if (!upTo.startsWith(prompt) || !full.startsWith(upTo) || upTo.length() == prompt.length()) {
                stable = false;
                break;
            }
            spans.add(new int[] {prompt.length(), upTo.length()});
        }
        if (stable) return new Rendered(full, spans, "all_assistant_turns");
        int last = assistants.get(assistants.size() - 1);
        if (last != messages.size() - 1) {
            throw new TemplateException("chat template '" + name + "' renders earlier turns differently once later "
                    + "turns follow, and the conversation does not end with an assistant turn, so the trained part "
                    + "cannot be located");
        }
        String prompt = render(messages.subList(0, last), true, specialTokens);
        if (!full.startsWith(prompt) || full.length() == prompt.length()) {
            throw new TemplateException("chat template '" + name + "': the rendered conversation does not start with "
                    + "the rendered prompt (add_generation_prompt=true), so the trained part cannot be located");
        }
        return new Rendered(full, List.of(new int[] {prompt.length(), full.length()}), "last_assistant_turn");
    }

    /**
     * Rewrites the Python-only syntax real templates use into what jinjava parses: {@code x[::-1]} becomes
     * {@code (x|reverse)}; inside {@code namespace(k=expr, ...)} each value is parenthesised (jinjava otherwise binds
     * {@code k=messages|length - 1} as {@code (k=messages|length) - 1}).
     */
    static String compat(String template) {
        Matcher m = REVERSE_SLICE.matcher(template);
        String s = m.replaceAll("($1|reverse)");
        StringBuilder out = new StringBuilder(s.length() + 16);
        int i = 0;
        while (true) {
            int at = s.indexOf("namespace(", i);
            if (at < 0 || (at > 0 && Character.isJavaIdentifierPart(s.charAt(at - 1)))) {
                if (at < 0) break;
                out.append(s, i, at + 10);
                i = at + 10;
                continue;
            }
            int open = at + "namespace(".length();
            int close = matchingParen(s, open - 1);
            if (close < 0) break;
            out.append(s, i, open);
            List<String> args = splitTopLevel(s.substring(open, close));
            List<String> fixed = new ArrayList<>();
            for (String a : args) {
                int eq = topLevelAssign(a);
                fixed.add(
                        eq < 0
                                ? a
                                : a.substring(0, eq + 1) + "("
                                        + a.substring(eq + 1).trim() + ")");
            }
            out.append(String.join(", ", fixed)).append(')');
            i = close + 1;
        }
        out.append(s.substring(i));
        return out.toString();
    }

    private static int matchingParen(String s, int openIdx) {
        int depth = 0;
        char quote = 0;
        for (int i = openIdx; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
                continue;
            }
            if (c == '\'' || c == '"') quote = c;
            else if (c == '(' || c == '[' || c == '{') depth++;
            else if (c == ')' || c == ']' || c == '}') {
                depth--;
                if (depth == 0) return i;
            }
        }
        return -1;
    }

    private static List<String> splitTopLevel(String s) {
        List<String> out = new ArrayList<>();
        int depth = 0;
        char quote = 0;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
                continue;
            }
            if (c == '\'' || c == '"') quote = c;
            else if (c == '(' || c == '[' || c == '{') depth++;
            else if (c == ')' || c == ']' || c == '}') depth--;
            else if (c == ',' && depth == 0) {
                out.add(s.substring(start, i).trim());
                start = i + 1;
            }
        }
        String last = s.substring(start).trim();
        if (!last.isEmpty()) out.add(last);
        return out;
    }

    /** Index of a keyword argument's '=' (not '==', '<=', ...) at the top level, or -1. */
    private static int topLevelAssign(String arg) {
        for (int i = 0; i < arg.length(); i++) {
            char c = arg.charAt(i);
            if (!Character.isJavaIdentifierPart(c)) {
                if (c == '=' && i > 0 && (i + 1 >= arg.length() || arg.charAt(i + 1) != '=')) return i;
                if (c == ' ' && i > 0) {
                    int j = i;
                    while (j < arg.length() && arg.charAt(j) == ' ') j++;
                    if (j < arg.length()
                            && arg.charAt(j) == '='
                            && (j + 1 >= arg.length() || arg.charAt(j + 1) != '=')) {
                        return j;
                    }
                }
                return -1;
            }
        }
        return -1;
    }

    /** The special-token map for {@link #render}: names to text, unset ones left out. */
    public static Map<String, String> specialTokens(String bos, String eos, String unk, String pad) {
        Map<String, String> m = new LinkedHashMap<>();
        if (bos != null) m.put("bos_token", bos);
        if (eos != null) m.put("eos_token", eos);
        if (unk != null) m.put("unk_token", unk);
        if (pad != null) m.put("pad_token", pad);
        return m;
    }
}
