package io.lakelora.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.error.BadInputException;
import io.lakelora.error.ExitCodes;
import io.lakelora.lora.AdapterState;
import io.lakelora.model.ModelDir;
import io.lakelora.peft.PeftAdapter;
import io.lakelora.safetensors.SafetensorsFile;
import io.lakelora.train.Checkpoint;
import io.lakelora.train.ToyLoraLm;
import io.lakelora.util.Assets;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command's plumbing (config, data, checkpoints, resume, PEFT output) with the test model in place of LLaMA. */
class TrainLocalCommandTest {
    @TempDir
    Path dir;

    private static final Path MODEL = Assets.require("models/stories260K-hf");
    private static final Path DATA = Assets.require("corpora/tinystories_sample.txt");

    private record Run(Map<String, Object> result, String stderr, ToyLoraLm model) {}

    private Run run(String... args) throws Exception {
        ToyLoraLm[] built = new ToyLoraLm[1];
        TrainLocalCommand cmd = new TrainLocalCommand((ModelDir md, io.lakelora.train.TrainConfig cfg) -> {
            // the toy has one q_proj-shaped adapter on hidden 16: use a matching config
            built[0] = new ToyLoraLm(
                    512, 16, cfg.lora().r(), cfg.lora().scaling(), cfg.lora().loraDropout(), 3);
            return TrainLocalCommand.withRandomInit(built[0], cfg);
        });
        new CommandLine(cmd).parseArgs(args);
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, "UTF-8"));
        try {
            return new Run(cmd.execute(), err.toString("UTF-8"), built[0]);
        } finally {
            System.setErr(old);
        }
    }

    private List<String> args(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of(
                "--model",
                MODEL.toString(),
                "--data",
                DATA.toString(),
                "--out",
                out.toString(),
                "block_size=32",
                "micro_batch=2",
                "grad_accum=2",
                "steps=8",
                "checkpoint_interval=4",
                "eval_interval=4",
                "optimizer.lr=0.01",
                "quant=none",
                "lora.r=4",
                "lora.lora_alpha=8",
                "lora.target_modules=[q_proj]",
                "lora.lora_dropout=0.1"));
        a.addAll(List.of(extra));
        return a;
    }

    @Test
    void trainsWritesThePeftAdapterAndResumesOnRerun() throws Exception {
        Path out = dir.resolve("out");
        Run first = run(args(out).toArray(String[]::new));
        assertEquals("done", first.result().get("status"));
        assertEquals(8L, first.result().get("steps"));
        assertTrue(
                first.stderr().contains("resolved config:") && first.stderr().contains("\"block_size\" : 32"),
                first.stderr());
        assertTrue(first.stderr().contains("step 8/8 | loss "), first.stderr());
        assertTrue(first.stderr().contains("eval step 8 | loss "), first.stderr());
        assertTrue(Files.isRegularFile(out.resolve("train_config.json")));
        assertEquals(
                out.resolve("checkpoints/step-00000008.ckpt"),
                Checkpoint.latest(out.resolve("checkpoints")).orElseThrow());

        // the adapter in OUT is the final slab under PEFT keys (the toy adapts one q_proj, so it does not fit the
        // stories260K model: compare the file with the last checkpoint directly)
        AdapterState finalState = new AdapterState(first.model().layout());
        Checkpoint.read(
                out.resolve("checkpoints/step-00000008.ckpt"),
                finalState,
                new io.lakelora.train.AdamW(0.9, 0.999, 1e-8, 0).newState(finalState.layout()));
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve(PeftAdapter.WEIGHTS_FILE))) {
            for (var t : first.model().layout().tensors()) {
                assertArrayEquals(AdapterState.copyOf(finalState.params(), t), f.readFloats(t.peftKey()), t.peftKey());
            }
            assertEquals(2, f.tensors().size());
        }
        assertTrue(Files.readString(out.resolve(PeftAdapter.CONFIG_FILE)).contains("\"peft_type\" : \"LORA\""));

        Run again = run(args(out).toArray(String[]::new));
        assertTrue(
                again.stderr().contains("resuming from " + out.resolve("checkpoints/step-00000008.ckpt")),
                again.stderr());
        assertTrue(again.stderr().contains("training already complete at step 8"), again.stderr());
        assertEquals(8L, again.result().get("resumed_from_step"));
    }

    @Test
    void emptyDataAndUnknownKeysAreClearErrors() throws Exception {
        Path empty = dir.resolve("empty.txt");
        Files.writeString(empty, "\n\n");
        List<String> a = args(dir.resolve("o1"));
        a.set(3, empty.toString());
        BadInputException e = assertThrows(BadInputException.class, () -> run(a.toArray(String[]::new)));
        assertTrue(e.getMessage().contains("has no training text"), e.getMessage());
        assertEquals(ExitCodes.BAD_INPUT, Cli.exitCodeFor(e));

        IllegalArgumentException u = assertThrows(
                IllegalArgumentException.class,
                () -> run(args(dir.resolve("o2"), "lora.rank=4").toArray(String[]::new)));
        assertTrue(u.getMessage().contains("unknown key 'lora.rank'"), u.getMessage());

        IllegalArgumentException t = assertThrows(
                IllegalArgumentException.class,
                () -> run(args(dir.resolve("o3"), "lora.target_modules=[qkv_proj]")
                        .toArray(String[]::new)));
        assertTrue(t.getMessage().contains("unknown LoRA target module 'qkv_proj'"), t.getMessage());
    }
}
