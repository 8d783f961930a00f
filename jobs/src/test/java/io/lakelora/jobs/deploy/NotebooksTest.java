package io.lakelora.jobs.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.lakelora.jobs.common.JobConfigs;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every Databricks notebook in notebooks/ (source format, Scala or Python), read as text: it opens with the source
 * header; every io.lakelora class it names (in code and in its Markdown) loads, and so does every member it calls on an
 * imported class or on a value of a known type ({@code cfg.lake.root}, {@code result.metricsTable}, ...); it reads only
 * widgets it defines; every key=value override it builds exists in the job config it loads, and the config binds and
 * validates with the widgets' default values; it goes widgets -> JobConfigs.load -> the job's run(spark, cfg ...),
 * reading its job config where the absolute conf_dir widget points (through the Hadoop FileSystem, no copy) with the
 * Databricks overlay selected by env=databricks.
 * Every job config conf/NN_*.yaml has a notebook NN_*.scala. And every Scala notebook compiles as Scala 2.13 (Spark's
 * version) against the job classes with stand-ins for what Databricks puts in scope ({@link NotebookCompiler}); a
 * notebook with type errors does not.
 */
class NotebooksTest {
    private static final String PACKAGE = "(io\\.lakelora(?:\\.[a-z][a-z0-9_]*)+)";
    /** io.lakelora.pkg.Class[.Nested...][.member]; group 1: the package, 2: the classes, 3: the member. */
    private static final Pattern QUALIFIED =
            Pattern.compile("\\b" + PACKAGE + "((?:\\.[A-Z][A-Za-z0-9_]*)+)(\\.[a-z][A-Za-z0-9_]*)?");

    private static final Pattern IMPORT_GROUP = Pattern.compile("import\\s+" + PACKAGE + "\\.\\{([^}]*)}");
    private static final Pattern IMPORT_ONE =
            Pattern.compile("import\\s+" + PACKAGE + "\\.([A-Z]\\w*)\\s*$", Pattern.MULTILINE);
    /** A widget and its default; an interpolated default (s"...$user...") counts as a widget without a fixed one. */
    private static final Pattern WIDGET_DEF = Pattern.compile(
            "dbutils\\.widgets\\.(?:text|dropdown|combobox|multiselect)\\(\"(\\w+)\",\\s*(s?)\"([^\"]*)\"");

    private static final Pattern WIDGET_GET = Pattern.compile("dbutils\\.widgets\\.get\\(\"(\\w+)\"\\)");
    /** s"key=..." in an override list; group 2: the widget read inline, group 3: a val holding it. */
    private static final Pattern OVERRIDE =
            Pattern.compile("s\"([a-z_][a-z0-9_.]*)=\\$(?:\\{dbutils\\.widgets\\.get\\(\"(\\w+)\"\\)}|(\\w+))");

    private static final Pattern VAL_WIDGET = Pattern.compile("val (\\w+) = dbutils\\.widgets\\.get\\(\"(\\w+)\"\\)");
    private static final Pattern VAL_NEW =
            Pattern.compile("val (\\w+) = new ((?:io\\.lakelora\\.[\\w.]+\\.)?[A-Z]\\w*)\\(");
    private static final Pattern VAL_CALL = Pattern.compile("val (\\w+) = ([A-Z]\\w*)\\.(\\w+)\\(");
    private static final Pattern MEMBER_CHAIN = Pattern.compile("(?<![\\w.$])([A-Za-z]\\w*)((?:\\.[A-Za-z]\\w*)+)");
    private static final Pattern JOB_CONF = Pattern.compile("\"[^\"]*?\\b(\\d\\d_[a-z0-9_]+\\.yaml)\"");

    private static List<Path> notebooks() throws IOException {
        try (Stream<Path> s = Files.list(ProjectFiles.root().resolve("notebooks"))) {
            return s.filter(f -> f.toString().endsWith(".scala") || f.toString().endsWith(".py"))
                    .sorted()
                    .toList();
        }
    }

    @Test
    void everyJobConfigHasANotebook() throws Exception {
        List<String> names =
                notebooks().stream().map(f -> f.getFileName().toString()).toList();
        for (Path conf : ProjectFiles.jobConfs()) {
            String nn = conf.getFileName().toString().substring(0, 3);
            assertEquals(
                    1,
                    names.stream().filter(n -> n.startsWith(nn)).count(),
                    "one notebook notebooks/" + nn + "*.scala for " + conf.getFileName() + ", found " + names);
        }
    }

    @Test
    void notebooksAreSourceFormatAndNameClassesThatExist() throws Exception {
        List<Path> nbs = notebooks();
        assertTrue(nbs.size() >= 6, nbs.toString());
        for (Path f : nbs) {
            String src = Files.readString(f);
            String comment = f.toString().endsWith(".py") ? "#" : "//";
            assertTrue(src.startsWith(comment + " Databricks notebook source\n"), f + ": Databricks source header");
            assertTrue(src.contains("\n" + comment + " COMMAND ----------\n"), f + ": cells");
            int named = 0;
            for (Matcher m = QUALIFIED.matcher(src); m.find(); named++) {
                Class<?> c = load(f, m.group(1), m.group(2).substring(1).split("\\."));
                // Markdown may name a package-private member (e.g. DataParallelStep.deviceAddresses): any visibility
                if (m.group(3) != null)
                    assertTrue(
                            hasMember(c, m.group(3).substring(1), false),
                            f + ": " + m.group() + " - " + c.getName() + " has no member "
                                    + m.group(3).substring(1));
            }
            Map<String, Class<?>> imported = imports(f, src);
            assertTrue(named + imported.size() > 0, f + " names no io.lakelora class");
        }
    }

    @Test
    void scalaNotebooksCallMembersThatExist() throws Exception {
        for (Path f : scalaNotebooks()) {
            String src = Files.readString(f);
            Map<String, Class<?>> known = new LinkedHashMap<>(imports(f, src));
            String code = code(src);
            Map<String, Class<?>> vals = typedVals(f, code, known);
            assertTrue(
                    vals.containsKey("cfg") && vals.containsKey("result"),
                    f + ": val cfg (the config) and val " + "result (the job's outcome) of known types, found " + vals);
            int checked = 0;
            for (Matcher m = MEMBER_CHAIN.matcher(code); m.find(); ) {
                String head = m.group(1);
                List<String> chain = Arrays.asList(m.group(2).substring(1).split("\\."));
                Class<?> c = vals.containsKey(head) ? vals.get(head) : known.get(head);
                if (c == null) continue; // Spark, dbutils, Scala library: not ours
                walk(f, head, c, chain);
                checked++;
            }
            assertTrue(checked >= 3, f + ": only " + checked + " member references checked");
        }
    }

    @Test
    void widgetsFeedOverridesOfKeysTheJobConfigHasAndTheConfigBinds() throws Exception {
        for (Path f : scalaNotebooks()) {
            String src = Files.readString(f);
            String code = src.lines().filter(l -> !l.startsWith("// MAGIC")).reduce("", (a, b) -> a + b + "\n");
            Map<String, String> widgets = new LinkedHashMap<>();
            for (Matcher d = WIDGET_DEF.matcher(code); d.find(); ) {
                widgets.put(d.group(1), d.group(2).isEmpty() ? d.group(3) : "");
            }
            for (Matcher g = WIDGET_GET.matcher(code); g.find(); ) {
                assertTrue(widgets.containsKey(g.group(1)), f + " reads widget '" + g.group(1) + "' it never defines");
            }

            Set<String> confs = new LinkedHashSet<>();
            for (Matcher m = JOB_CONF.matcher(code); m.find(); ) confs.add(m.group(1));
            assertEquals(1, confs.size(), f + " loads one job config conf/NN_*.yaml, found " + confs);
            String confName = confs.iterator().next();
            Path conf = ProjectFiles.root().resolve("conf").resolve(confName);
            assertTrue(Files.isRegularFile(conf), f + ": " + confName + " is not in conf/");
            assertEquals(
                    f.getFileName().toString().substring(0, 3), confName.substring(0, 3), f + " runs job " + confName);
            // the Databricks overlay, conf/env/databricks.yaml beside the job config, chosen by env=databricks
            assertTrue(
                    code.contains("Seq(\"env=databricks\")"),
                    f + ": JobConfigs.load(..., (Seq(\"env=databricks\") " + "++ overrides).asJava, ...)");
            List<String> locations = List.of(conf.toString());
            JsonNode tree = JobConfigs.resolve(locations, List.of("env=databricks"), null);

            Map<String, String> valWidgets = new LinkedHashMap<>();
            for (Matcher v = VAL_WIDGET.matcher(code); v.find(); ) valWidgets.put(v.group(1), v.group(2));
            List<String> overrides = new ArrayList<>(List.of("env=databricks"));
            Set<String> keys = new LinkedHashSet<>();
            for (Matcher m = OVERRIDE.matcher(code); m.find(); ) {
                String key = m.group(1);
                keys.add(key);
                JsonNode n = tree;
                for (String part : key.split("\\.")) n = n.path(part);
                assertFalse(n.isMissingNode(), f + ": override key '" + key + "' is not in " + confName);
                String widget = m.group(2) != null ? m.group(2) : valWidgets.get(m.group(3));
                if (widget != null && !widgets.get(widget).isEmpty()) overrides.add(key + "=" + widgets.get(widget));
            }
            assertTrue(keys.contains("lake.root"), f + " sets lake.root from a widget, found " + keys);

            Matcher cls = Pattern.compile("classOf\\[(\\w+)]").matcher(code);
            assertTrue(cls.find(), f + ": JobConfigs.load(..., classOf[...], null)");
            Class<?> type = imports(f, src).get(cls.group(1));
            assertTrue(type != null, f + ": classOf[" + cls.group(1) + "] is not an imported io.lakelora class");
            Object cfg;
            try {
                cfg = JobConfigs.load(locations, overrides, type, null);
            } catch (IllegalArgumentException e) { // unknown key or wrong type, naming the key
                throw new AssertionError(
                        f + ": the widgets' defaults " + overrides + " do not bind: " + e.getMessage(), e);
            }
            try {
                type.getMethod("validate").invoke(cfg);
            } catch (InvocationTargetException e) {
                throw new AssertionError(
                        f + ": the widgets' defaults " + overrides + " do not validate: "
                                + e.getCause().getMessage(),
                        e.getCause());
            }

            int w = code.indexOf("dbutils.widgets.text(");
            int load = code.indexOf("JobConfigs.load(");
            Matcher run =
                    Pattern.compile("\\b[A-Z]\\w*Job\\.run\\(spark, cfg\\b").matcher(code);
            assertTrue(run.find(), f + ": runs SomethingJob.run(spark, cfg ...)");
            assertTrue(w >= 0 && w < load && load < run.start(), f + ": widgets -> JobConfigs.load -> the job");
        }
    }

    @Test
    void confDirIsAbsolute() throws Exception {
        Pattern confDir = Pattern.compile("dbutils\\.widgets\\.text\\(\"conf_dir\",\\s*s?\"([^\"]*)\"");
        for (Path f : scalaNotebooks()) {
            String src = Files.readString(f);
            Matcher m = confDir.matcher(src);
            assertTrue(m.find(), f + ": a conf_dir widget (the repository's conf/ as an absolute path or URI)");
            assertTrue(
                    m.group(1).startsWith("/Workspace/"),
                    f + ": conf_dir defaults to a workspace folder, found " + m.group(1));
            // executors and the driver's working directory are not the repository: nothing relative
            for (String rel : List.of("\"../", "\"./")) {
                assertFalse(src.contains(rel), f + " holds a relative path " + rel + "...\"");
            }
            // read in place through the Hadoop FileSystem (JobConfigs), not copied to the driver's disk first
            assertTrue(src.contains("require(confDir.startsWith(\"/\")"), f + ": checks that conf_dir is absolute");
            String conf = f.getFileName().toString().substring(0, 3);
            assertTrue(
                    Pattern.compile("JobConfigs\\.load\\(List\\(s\"\\$confUri/" + conf
                                    + "[a-z_]+\\.yaml\"\\)\\.asJava, "
                                    + "\\(Seq\\(\"env=databricks\"\\) \\+\\+ overrides\\)\\.asJava,")
                            .matcher(src)
                            .find(),
                    f + ": JobConfigs.load(List(s\"$confUri/" + conf + "*.yaml\").asJava, (Seq(\"env=databricks\") ++ "
                            + "overrides).asJava, classOf[...], null)");
            for (String copy : List.of("dbutils.fs.cp(", "createTempDirectory", "ConfigLoader.load(")) {
                assertFalse(
                        src.contains(copy),
                        f + ": " + copy + " - read the config where conf_dir is, with " + "JobConfigs.load");
            }
        }
    }

    /** The repository's notebooks and {@link #BROKEN} compiled in one compiler run (one compiler start-up). */
    private static NotebookCompiler.Result compiled;

    /** A notebook with two deliberate errors: line 8 a String where an Int is declared, line 9 a missing argument. */
    static final String BROKEN = NotebookCompiler.HEADER + "\n// MAGIC %md\n// MAGIC # Broken on purpose\n\n"
            + "// COMMAND ----------\n\n"
            + "dbutils.widgets.text(\"steps\", \"60\", \"Steps\")\n"
            + "val steps: Int = dbutils.widgets.get(\"steps\")\n"
            + "dbutils.widgets.text(\"lake_root\")\n"
            + "display(spark.range(steps))\n";

    private static synchronized NotebookCompiler.Result compiled() {
        if (compiled == null) {
            Map<String, String> sources = new LinkedHashMap<>(NotebookCompiler.repositoryNotebooks());
            assertTrue(sources.size() >= 6, sources.keySet().toString());
            sources.put("99_broken.scala", BROKEN);
            compiled = NotebookCompiler.compile(sources);
        }
        return compiled;
    }

    @Test
    void scalaNotebooksCompileAgainstTheJobClasses() {
        // a notebook compiled here runs on the cluster's scala-library: the compiler must be Spark's Scala version
        String library = scala.util.Properties.versionNumberString();
        assertEquals(
                library,
                scala.tools.nsc.Properties.versionNumberString(),
                "scala-compiler and Spark's "
                        + "scala-library differ. Fix: set scala.version in the root pom to Spark's (spark-parent's scala.version)");
        assertTrue(library.startsWith("2.13."), "Spark 4 is Scala 2.13, found " + library);
        NotebookCompiler.Result r = compiled();
        List<NotebookCompiler.Message> errors = r.errors().stream()
                .filter(m -> !m.file().equals("99_broken.scala"))
                .toList();
        assertEquals(List.of(), errors, "notebooks do not compile as Scala " + library + ":\n" + r.report());
    }

    @Test
    void aNotebookWithTypeErrorsDoesNotCompile() {
        NotebookCompiler.Result r = compiled();
        List<NotebookCompiler.Message> errors = r.errors().stream()
                .filter(m -> m.file().equals("99_broken.scala"))
                .toList();
        assertEquals(
                List.of(8, 9),
                errors.stream().map(NotebookCompiler.Message::line).toList(),
                r.report());
        assertTrue(errors.get(0).text().contains("type mismatch"), r.report());
        assertTrue(errors.get(1).text().contains("not enough arguments"), r.report());
    }

    private static List<Path> scalaNotebooks() throws IOException {
        List<Path> out = notebooks().stream()
                .filter(f -> f.toString().endsWith(".scala"))
                .toList();
        assertTrue(out.size() >= 6, out.toString());
        return out;
    }

    /** The io.lakelora classes a notebook imports, by the simple name it uses. */
    private static Map<String, Class<?>> imports(Path f, String src) {
        Map<String, Class<?>> out = new LinkedHashMap<>();
        for (Matcher m = IMPORT_GROUP.matcher(src); m.find(); ) {
            for (String part : m.group(2).split(",")) {
                String[] rename = part.strip().split("\\s*=>\\s*");
                out.put(rename[rename.length - 1], load(f, m.group(1), rename[0]));
            }
        }
        for (Matcher m = IMPORT_ONE.matcher(src); m.find(); ) out.put(m.group(2), load(f, m.group(1), m.group(2)));
        return out;
    }

    /** The class {@code pkg.Outer.Inner...} (nested classes by their binary names), failing with the notebook's name. */
    private static Class<?> load(Path f, String pkg, String... names) {
        String name = pkg + "." + String.join("$", names);
        try {
            return Class.forName(name, false, NotebooksTest.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new AssertionError(f + " names " + pkg + "." + String.join(".", names) + ", which is not on the "
                    + "classpath (renamed or moved?)");
        }
    }

    /** Code only: no Markdown cells, comment lines or trailing comments; string literals reduced to their ${...} parts. */
    static String code(String src) {
        StringBuilder sb = new StringBuilder();
        for (String line : src.split("\n")) {
            if (!line.strip().startsWith("//")) sb.append(line).append('\n');
        }
        String s = sb.toString();
        s = replace(s, Pattern.compile("\"\"\"(.*?)\"\"\"", Pattern.DOTALL), NotebooksTest::interpolations);
        s = replace(s, Pattern.compile("\"((?:[^\"\\\\\\n]|\\\\.)*)\""), NotebooksTest::interpolations);
        return s.replaceAll("//[^\n]*", "");
    }

    private static String interpolations(String literal) {
        StringBuilder sb = new StringBuilder(" ");
        for (Matcher m = Pattern.compile("\\$\\{([^}]*)}").matcher(literal); m.find(); )
            sb.append(m.group(1)).append(' ');
        for (Matcher m = Pattern.compile("\\$([A-Za-z]\\w*)").matcher(literal); m.find(); )
            sb.append(m.group(1)).append(' ');
        return sb.toString();
    }

    private static String replace(String s, Pattern p, java.util.function.Function<String, String> f) {
        StringBuilder sb = new StringBuilder();
        Matcher m = p.matcher(s);
        while (m.find()) m.appendReplacement(sb, Matcher.quoteReplacement(f.apply(m.group(1))));
        m.appendTail(sb);
        return sb.toString();
    }

    /**
     * The vals of known type: {@code val x = new C(...)}, {@code val x = C.m(...)} (m's return type; for a generic
     * return such as ConfigLoader.load's, the {@code classOf[T]} that follows).
     */
    private static Map<String, Class<?>> typedVals(Path f, String code, Map<String, Class<?>> known) {
        Map<String, Class<?>> vals = new LinkedHashMap<>();
        for (Matcher m = VAL_NEW.matcher(code); m.find(); ) {
            String n = m.group(2);
            Class<?> c = known.get(n);
            if (c == null && n.startsWith("io.lakelora.")) {
                int dot = n.lastIndexOf('.');
                c = load(f, n.substring(0, dot), n.substring(dot + 1));
            }
            if (c != null) vals.put(m.group(1), c);
        }
        for (Matcher m = VAL_CALL.matcher(code); m.find(); ) {
            Class<?> c = known.get(m.group(2));
            if (c == null) continue;
            Method method = Arrays.stream(c.getMethods())
                    .filter(x -> x.getName().equals(m.group(3)))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError(f + ": " + m.group(2) + "." + m.group(3) + " - " + c.getName()
                            + " has no public method " + m.group(3)));
            Class<?> type = method.getReturnType();
            if (type == Object.class) {
                Matcher cls = Pattern.compile("classOf\\[(\\w+)]").matcher(code);
                type = cls.find(m.end()) ? known.get(cls.group(1)) : null;
            }
            if (type != null && type != String.class) vals.put(m.group(1), type);
        }
        return vals;
    }

    /** Follows {@code head.a.b...}: nested classes and fields go on, a method ends the chain (its result is not ours). */
    private static void walk(Path f, String head, Class<?> c, List<String> chain) {
        Class<?> cur = c;
        StringBuilder path = new StringBuilder(head);
        for (String name : chain) {
            path.append('.').append(name);
            Class<?> nested = Arrays.stream(cur.getClasses())
                    .filter(n -> n.getSimpleName().equals(name))
                    .findFirst()
                    .orElse(null);
            if (nested != null) {
                cur = nested;
                continue;
            }
            Field field = field(cur, name);
            if (field != null) {
                cur = field.getType();
                if (cur.isPrimitive() || cur.getName().startsWith("java.")) return;
                continue;
            }
            assertTrue(
                    hasMember(cur, name, true),
                    f + ": " + path + " - " + cur.getName() + " has no field, method or " + "nested class " + name);
            return;
        }
    }

    /** The public field {@code name} of {@code c} or a superclass, or null. */
    private static Field field(Class<?> c, String name) {
        return Arrays.stream(c.getFields())
                .filter(x -> x.getName().equals(name))
                .findFirst()
                .orElse(null);
    }

    /** Whether {@code c} has a field or method {@code name}: public ones (inherited too), or of any visibility. */
    private static boolean hasMember(Class<?> c, String name, boolean publicOnly) {
        if (field(c, name) != null
                || Arrays.stream(c.getMethods()).anyMatch(m -> m.getName().equals(name))) return true;
        if (publicOnly) return false;
        for (Class<?> k = c; k != null; k = k.getSuperclass()) {
            if (Arrays.stream(k.getDeclaredFields()).anyMatch(x -> x.getName().equals(name))) return true;
            if (Arrays.stream(k.getDeclaredMethods()).anyMatch(x -> x.getName().equals(name))) return true;
        }
        return false;
    }
}
