package io.lakelora.jobs.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.internal.util.Position;
import scala.tools.nsc.Global;
import scala.tools.nsc.Settings;
import scala.tools.nsc.reporters.StoreReporter;

/**
 * Compiles Databricks Scala notebooks (source format) as Scala 2.13 against the test classpath, the way a notebook
 * attached to a cluster with the job jar sees them: the header, cell separators and {@code // MAGIC} lines are blanked
 * (so line numbers stay those of the notebook), and the code becomes the body of an object extending
 * {@code DatabricksNotebook} from jobs/src/test/notebooks/DatabricksStandIns.scala ({@code spark}, {@code dbutils},
 * {@code display}, {@code displayHTML}, {@code spark.implicits._}). Compile only, into a temp directory that is
 * deleted afterwards; nothing runs.
 */
final class NotebookCompiler {
    private NotebookCompiler() {}

    static final String HEADER = "// Databricks notebook source";

    /** One compiler message: the notebook file name (or the stand-ins file), its line, severity and text. */
    record Message(String file, int line, String severity, String text) {
        @Override
        public String toString() {
            return file + ":" + line + ": " + severity.toLowerCase(java.util.Locale.ROOT) + ": " + text;
        }
    }

    record Result(List<Message> messages) {
        List<Message> errors() {
            return messages.stream().filter(m -> m.severity().equals("ERROR")).toList();
        }

        /** All messages, one per line, for an assertion message. */
        String report() {
            return messages.isEmpty()
                    ? "(no messages)"
                    : messages.stream().map(Message::toString).collect(Collectors.joining("\n"));
        }
    }

    /** The stand-ins for what Databricks puts in a notebook's scope. */
    static Path standIns() {
        return ProjectFiles.root().resolve("jobs/src/test/notebooks/DatabricksStandIns.scala");
    }

    /** {@code 03_train.scala} -> {@code Notebook_03_train}. */
    static String objectName(String fileName) {
        return "Notebook_" + fileName.replaceAll("\\.scala$", "").replaceAll("[^A-Za-z0-9_]", "_");
    }

    /** The notebook as a Scala source file: markers blanked, the code wrapped in an object, line numbers kept. */
    static String wrap(String fileName, String notebook) {
        String[] lines = notebook.split("\n", -1);
        if (!lines[0].equals(HEADER)) {
            throw new IllegalArgumentException(
                    fileName + ": first line is '" + lines[0] + "', expected '" + HEADER + "'");
        }
        StringBuilder sb = new StringBuilder("package lakelora.notebooks; object ")
                .append(objectName(fileName))
                .append(" extends DatabricksNotebook { import spark.implicits._\n");
        for (int i = 1; i < lines.length; i++) {
            String l = lines[i];
            boolean marker = l.startsWith("// COMMAND ----------") || l.startsWith("// MAGIC");
            sb.append(marker ? "" : l).append('\n');
        }
        return sb.append("}\n").toString();
    }

    /** Compiles the notebooks (file name -> source) and the stand-ins in one compiler run. */
    static Result compile(Map<String, String> notebooks) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("lakelora-notebooks");
            Path src = Files.createDirectories(dir.resolve("src"));
            Path out = Files.createDirectories(dir.resolve("classes"));
            List<String> files = new ArrayList<>(List.of(standIns().toString()));
            for (Map.Entry<String, String> nb : notebooks.entrySet()) {
                Path f = src.resolve(nb.getKey());
                Files.writeString(f, wrap(nb.getKey(), nb.getValue()));
                files.add(f.toString());
            }
            Settings settings = new Settings();
            List<String> args = List.of(
                    "-classpath",
                    System.getProperty("java.class.path"),
                    "-d",
                    out.toString(),
                    "-deprecation",
                    "-feature");
            scala.Tuple2<Object, scala.collection.immutable.List<String>> parsed =
                    settings.processArguments(CollectionConverters.asScala(args).toList(), true);
            if (!(Boolean) parsed._1()) throw new IllegalStateException("scalac rejected the settings " + args);
            StoreReporter reporter = new StoreReporter(settings);
            Global global = new Global(settings, reporter);
            Global.Run run = global.new Run();
            run.compile(CollectionConverters.asScala(files).toList());
            List<Message> messages = new ArrayList<>();
            for (StoreReporter.Info info : CollectionConverters.asJava(reporter.infos())) {
                Position pos = info.pos();
                String file = pos.isDefined() ? pos.source().file().name() : "<no position>";
                int line = pos.isDefined() ? pos.line() : 0;
                messages.add(new Message(file, line, info.severity().toString(), info.msg()));
            }
            return new Result(messages);
        } catch (IOException e) {
            throw new UncheckedIOException("compiling notebooks in " + dir, e);
        } finally {
            if (dir != null) delete(dir);
        }
    }

    /** Every notebooks/*.scala of the repository, by file name. */
    static Map<String, String> repositoryNotebooks() {
        Map<String, String> out = new LinkedHashMap<>();
        try (Stream<Path> s = Files.list(ProjectFiles.root().resolve("notebooks"))) {
            for (Path f :
                    s.filter(p -> p.toString().endsWith(".scala")).sorted().toList()) {
                out.put(f.getFileName().toString(), Files.readString(f));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading notebooks/", e);
        }
        return out;
    }

    private static void delete(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UncheckedIOException("deleting " + dir, e);
        }
    }
}
