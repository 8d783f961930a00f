package io.lakelora.cli;

import io.lakelora.kernel.KernelProvider;
import io.lakelora.model.Generator;
import io.lakelora.model.LlamaLoader;
import io.lakelora.model.LlamaSession;
import io.lakelora.model.LlamaWeights;
import io.lakelora.model.ModelConfig;
import io.lakelora.tokenizer.Tokenizer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakelora generate}: text generation with a LLaMA-family model (greedy by default; temperature, top-k, top-p
 * sampling with a seed), stopping at any EOS id or after {@code --max-new-tokens}.
 */
@Command(name = "generate", description = "Generate text with a model (optionally with a LoRA adapter).")
public final class GenerateCommand extends BaseCommand {

    @Option(
            names = "--model",
            required = true,
            paramLabel = "DIR",
            description = "Model directory in Hugging Face layout.")
    Path model;

    static final class Prompt {
        @Option(
                names = "--prompt",
                paramLabel = "TEXT",
                description = "Prompt text (encoded with the model's special tokens, e.g. BOS).")
        String text;

        @Option(names = "--prompt-ids", split = ",", paramLabel = "IDS", description = "Prompt token ids, e.g. 1,2,3.")
        List<Integer> ids;
    }

    @ArgGroup(exclusive = true)
    Prompt prompt;

    @Option(names = "--max-new-tokens", description = "Tokens to generate at most (default 128).")
    int maxNewTokens = 128;

    @Option(names = "--temperature", description = "0 = greedy (default); > 0 samples.")
    float temperature = 0f;

    @Option(names = "--top-k", description = "Sample among the k most likely tokens (0 = all, default).")
    int topK = 0;

    @Option(names = "--top-p", description = "Nucleus sampling mass (default 1 = off).")
    float topP = 1f;

    @Option(names = "--seed", description = "Sampling seed (default 0).")
    long seed = 0;

    @Option(names = "--quant", description = "Base weights: nf4 (NF4 + double quantization, default) or none (fp32).")
    String quant = "nf4";

    @Option(names = "--adapter", paramLabel = "DIR", description = "A PEFT LoRA adapter directory to apply.")
    Path adapter;

    @Override
    protected Map<String, Object> execute() {
        if (maxNewTokens < 0) throw new IllegalArgumentException("--max-new-tokens must be >= 0, got " + maxNewTokens);
        ModelConfig cfg = LlamaLoader.config(model);
        try (Tokenizer tok = Tokenizer.load(model)) {
            int[] ids = promptIds(tok, cfg);
            LlamaWeights w = ModelLoading.loadWeights(model, quant);
            int capacity = ids.length + maxNewTokens;
            if (capacity > cfg.maxPositionEmbeddings()) {
                log("[lakelora] warning: prompt + max new tokens = " + capacity + " exceeds max_position_embeddings "
                        + cfg.maxPositionEmbeddings() + "; the model was not trained for such positions");
            }
            Set<Integer> eos = new LinkedHashSet<>();
            for (int id : tok.eosIds()) eos.add(id);
            for (int id : cfg.eosTokenIds()) eos.add(id);
            LlamaSession session = new LlamaSession(
                    w, KernelProvider.get(), ModelLoading.loadAdapter(adapter, w), Math.max(1, capacity), 256);
            Generator.Result r = Generator.generate(
                    session, ids, new Generator.Config(maxNewTokens, temperature, topK, topP, seed, eos), null);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("text", tok.decode(r.tokens(), true));
            out.put("prompt_ids", toList(ids));
            out.put("ids", toList(r.tokens()));
            out.put("count", r.tokens().length);
            out.put("stopped_at_eos", r.stoppedAtEos());
            out.put("prompt_tok_s", Math.round(ids.length / Math.max(r.promptSeconds(), 1e-9) * 10) / 10.0);
            out.put(
                    "gen_tok_s",
                    r.tokens().length <= 1
                            ? null
                            : Math.round((r.tokens().length - 1) / Math.max(r.genSeconds(), 1e-9) * 10) / 10.0);
            return out;
        }
    }

    private int[] promptIds(Tokenizer tok, ModelConfig cfg) {
        int[] ids;
        if (prompt != null && prompt.text != null) {
            ids = tok.encode(prompt.text, true);
        } else if (prompt != null && prompt.ids != null) {
            ids = prompt.ids.stream().mapToInt(Integer::intValue).toArray();
        } else {
            int bos = tok.bosId() >= 0 ? tok.bosId() : cfg.bosTokenId() == null ? -1 : cfg.bosTokenId();
            if (bos < 0) {
                throw new IllegalArgumentException("no prompt given and the model has no BOS token to start from. "
                        + "Fix: pass --prompt TEXT or --prompt-ids IDS");
            }
            ids = new int[] {bos};
        }
        if (ids.length == 0) {
            throw new IllegalArgumentException("the prompt encodes to no tokens. Fix: pass a non-empty --prompt");
        }
        for (int id : ids) {
            if (id < 0 || id >= cfg.vocabSize()) {
                throw new IllegalArgumentException(
                        "prompt token id " + id + " is outside the vocabulary [0, " + cfg.vocabSize() + ")");
            }
        }
        return ids;
    }

    static List<Integer> toList(int[] ids) {
        List<Integer> l = new ArrayList<>(ids.length);
        for (int id : ids) l.add(id);
        return l;
    }

    @Override
    protected void printHuman(Map<String, Object> result, PrintStream out) {
        out.println(result.get("text"));
        System.err.println("[lakelora] " + result.get("count") + " tokens, stopped at EOS: "
                + result.get("stopped_at_eos") + ", prompt " + result.get("prompt_tok_s") + " tok/s, generation "
                + result.get("gen_tok_s") + " tok/s");
    }
}
