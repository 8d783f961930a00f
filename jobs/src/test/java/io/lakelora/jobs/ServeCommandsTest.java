package io.lakelora.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lakelora.cli.Cli;
import io.lakelora.error.ExitCodes;
import io.lakelora.jobs.evaluate.EvaluateCommand;
import io.lakelora.jobs.export.ExportCommand;
import io.lakelora.jobs.quantize.QuantizeBaseCommand;
import io.lakelora.jobs.testing.Confs;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The serving-side job commands are wired into bin/lakelora under the names databricks.yml and the DAG use. */
class ServeCommandsTest {
    static int run(String command, String conf, String... extra) {
        String[] args = new String[4 + extra.length];
        args[0] = command;
        args[1] = "--config";
        args[2] = Confs.conf(conf).toString();
        args[3] = "--print-config";
        System.arraycopy(extra, 0, args, 4, extra.length);
        return Cli.run(args, serveCommands());
    }

    /** This side's commands as Main lists them (the others are tested with their jobs). */
    static List<Object> serveCommands() {
        List<Object> mine = Main.jobCommands().stream()
                .filter(c ->
                        c instanceof QuantizeBaseCommand || c instanceof ExportCommand || c instanceof EvaluateCommand)
                .toList();
        assertEquals(3, mine.size(), "Main.jobCommands() lists quantize-base, export and evaluate");
        return mine;
    }

    @Test
    void commandsResolveTheirConfigs() {
        assertEquals(ExitCodes.OK, run("quantize-base", "00_quantize_base.yaml", "--run-id", "airflow-2025-06-01"));
        assertEquals(ExitCodes.OK, run("export", "04_export.yaml", "adapter=a@production"));
        assertEquals(ExitCodes.OK, run("evaluate", "05_evaluate.yaml", "data.max_blocks=8"));
    }

    @Test
    void badKeysAndValuesAreConfigErrors() {
        assertEquals(ExitCodes.BAD_CONFIG, run("quantize-base", "00_quantize_base.yaml", "quant.kind=nf4"));
        assertEquals(ExitCodes.BAD_CONFIG, run("quantize-base", "00_quantize_base.yaml", "quant.blocksize=100"));
        assertEquals(ExitCodes.BAD_CONFIG, run("export", "04_export.yaml", "adapter="));
        assertEquals(ExitCodes.BAD_CONFIG, run("evaluate", "05_evaluate.yaml", "eval.micro_batch=0"));
        assertEquals(ExitCodes.BAD_CONFIG, run("evaluate", "05_evaluate.yaml", "model.quant=q3"));
    }
}
