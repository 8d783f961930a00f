package io.lakelora.cli;

import io.lakelora.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakelora tokenize --tokenizer PATH --text TEXT [--add-special-tokens] [--json]}: prints the token ids of a
 * text (space-separated), or with {@code --json} one object with the ids and their vocabulary strings. PATH is a model
 * directory, a tokenizer.json(.gz) or a SentencePiece tokenizer.model.
 */
@Command(name = "tokenize", description = "Print the token ids of a text with a model's tokenizer.")
public final class TokenizeCommand extends BaseCommand {
    @Option(
            names = "--tokenizer",
            required = true,
            paramLabel = "PATH",
            description = "Model directory, tokenizer.json, tokenizer.json.gz or tokenizer.model.")
    Path tokenizer;

    @Option(names = "--text", required = true, paramLabel = "TEXT", description = "The text to encode.")
    String text;

    @Option(
            names = "--add-special-tokens",
            description = "Add the special tokens the tokenizer adds (e.g. BOS for LLaMA/Mistral).")
    boolean addSpecialTokens;

    @Override
    protected Map<String, Object> execute() {
        try (Tokenizer t = Tokenizer.load(tokenizer)) {
            int[] ids = t.encode(text, addSpecialTokens);
            List<Integer> idList = new ArrayList<>(ids.length);
            List<String> tokens = new ArrayList<>(ids.length);
            for (int id : ids) {
                idList.add(id);
                tokens.add(t.tokenToString(id));
            }
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("tokenizer", t.source().toString());
            r.put("add_special_tokens", addSpecialTokens);
            r.put("count", ids.length);
            r.put("ids", idList);
            r.put("tokens", tokens);
            return r;
        }
    }

    @Override
    protected void printHuman(Map<String, Object> result, PrintStream out) {
        StringBuilder sb = new StringBuilder();
        for (Object id : (List<?>) result.get("ids")) {
            if (sb.length() > 0) sb.append(' ');
            sb.append(id);
        }
        out.println(sb);
    }
}
