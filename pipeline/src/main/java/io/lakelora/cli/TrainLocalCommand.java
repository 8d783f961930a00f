package io.lakelora.cli;

import io.lakelora.lora.AdapterState;
import io.lakelora.lora.LoraConfig;
import io.lakelora.lora.LoraInit;
import io.lakelora.model.LoraModelBuilder;
import io.lakelora.model.ModelDir;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.peft.PlainLoraExport;
import io.lakelora.tokenizer.Tokenizer;
import io.lakelora.train.Document;
import io.lakelora.train.LocalTrainer;
import io.lakelora.train.TokenBlocks;
import io.lakelora.train.TrainConfig;
import io.lakelora.train.TrainableModel;
import io.lakelora.train.TrainingData;
import io.lakelora.train.TrainingLoop;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code lakelora train-local --model DIR --data FILE [--config conf/train_local.yaml] [key=value ...] --out DIR}:
 * LoRA/QLoRA training in one process. Prints the resolved config, a progress line per step (step, loss, lr, tokens/s,
 * ETA), eval losses; writes checkpoints to {@code OUT/checkpoints} and the PEFT adapter to {@code OUT}. Rerunning the
 * same command resumes from the newest checkpoint.
 */
@Command(
        name = "train-local",
        description = "Train a LoRA adapter (QLoRA: NF4 base) on a local .txt/.jsonl file, "
                + "in one process, with checkpoints and exact resume.")
public final class TrainLocalCommand extends BaseCommand {
    @Option(
            names = "--model",
            required = true,
            paramLabel = "DIR",
            description = "Base model directory in Hugging Face layout.")
    Path model;

    @Option(
            names = "--data",
            required = true,
            paramLabel = "FILE",
            description =
                    ".txt (documents separated by <|endoftext|> lines) or .jsonl (text | instruction/input/output "
                            + "| messages).")
    Path data;

    @Option(
            names = "--config",
            paramLabel = "YAML",
            description = "Training config, e.g. conf/train_local.yaml " + "(default: built-in defaults).")
    Path config;

    @Option(
            names = "--out",
            required = true,
            paramLabel = "DIR",
            description = "Output: checkpoints/, train_config.json, and the PEFT adapter.")
    Path out;

    @Parameters(paramLabel = "key=value", arity = "0..*", description = "Config overrides, e.g. lora.r=8 steps=100.")
    List<String> overrides = new ArrayList<>();

    /**
     * Builds the model for a run: {@link LoraModelBuilder} by default (tests substitute their own). PiSSA/LoftQ rewrite
     * the frozen base while initialising, so the builder initialises the adapter (deterministically, on every run, also
     * when resuming) before it assembles the model from the rewritten weights.
     */
    @FunctionalInterface
    public interface ModelBuilder {
        LoraModelBuilder.Built build(ModelDir dir, TrainConfig cfg);
    }

    /** Initialises an adapter for {@code model} whose base needs no rewriting (default, gaussian, false inits). */
    public static LoraModelBuilder.Built withRandomInit(TrainableModel model, TrainConfig cfg) {
        AdapterState s = new AdapterState(model.layout());
        LoraInit.Report rep = LoraInit.initialize(s, cfg.lora(), cfg.seed(), null, null);
        return new LoraModelBuilder.Built(model, s.params(), rep);
    }

    private final ModelBuilder builder;

    public TrainLocalCommand() {
        this((dir, cfg) -> LoraModelBuilder.build(dir.path(), LoraModelBuilder.Spec.of(cfg), cfg.seed()));
    }

    TrainLocalCommand(ModelBuilder builder) {
        this.builder = builder;
    }

    @Override
    protected Map<String, Object> execute() {
        TrainConfig cfg = TrainConfig.load(config == null ? List.of() : List.of(config), overrides);
        LoraConfig lora = cfg.lora();
        log("resolved config:\n" + cfg.toJson());
        ModelDir md = ModelDir.open(model);
        List<Document> docs;
        TokenBlocks all;
        try (Tokenizer tok = md.openTokenizer()) {
            docs = TrainingData.read(data, tok);
            int pad = tok.padId() >= 0 ? tok.padId() : tok.eosId();
            all = TokenBlocks.pack(docs, cfg.blockSize(), pad);
        }
        TokenBlocks[] split = all.split(cfg.evalFraction(), cfg.seed());
        long tokens = docs.stream().mapToLong(Document::length).sum();
        log(String.format(
                Locale.ROOT,
                "data %s: %d documents, %d tokens -> %d blocks of %d (%d train, %d eval), "
                        + "%d trained target tokens",
                data,
                docs.size(),
                tokens,
                all.size(),
                cfg.blockSize(),
                split[0].size(),
                split[1].size(),
                split[0].targetTokens()));
        try {
            Files.createDirectories(out);
            Files.writeString(out.resolve("train_config.json"), cfg.toJson() + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + out.resolve("train_config.json"), e);
        }
        LoraModelBuilder.Built built = builder.build(md, cfg);
        LoraInit.Report rep = built.initReport();
        if (rep != null && !rep.modules().isEmpty()) {
            log(String.format(
                    Locale.ROOT,
                    "init %s: relative error |W - (base + s*B*A)|/|W| %.5f (plain NF4 %.5f), " + "mean over %d modules",
                    lora.initLoraWeights(),
                    rep.meanInit(),
                    rep.meanPlain(),
                    rep.modules().size()));
        }
        LocalTrainer trainer = new LocalTrainer(
                cfg,
                built.model(),
                built.initialParams(),
                split[0],
                split[1],
                out.resolve("checkpoints"),
                BaseCommand::log);
        TrainingLoop.Result r = trainer.run();
        Map<String, Object> res = new LinkedHashMap<>();
        res.put("out", out.toString());
        res.put("steps", r.state().step());
        res.put("total_steps", r.totalSteps());
        res.put("resumed_from_step", r.resumed() ? r.resumedFromStep() : null);
        res.put("tokens_seen", r.tokensSeen());
        res.put("train_loss_last", r.lastTrainLoss());
        res.put("eval_loss_first", r.firstEval());
        res.put("eval_loss_last", r.lastEval());
        LoraConfig written = PlainLoraExport.save(
                out,
                md.config(),
                lora,
                r.state().layout(),
                r.state().params(),
                built.initialParams(),
                model.toString());
        if (written != lora) {
            log("init " + lora.initLoraWeights() + ": adapter written as a plain LoRA of the original base, delta W = "
                    + "s (B A - B0 A0): r=" + written.r() + ", lora_alpha=" + written.loraAlpha());
        }
        res.put("adapter", out.resolve(PeftAdapter.WEIGHTS_FILE).toString());
        res.put("status", "done");
        return res;
    }
}
