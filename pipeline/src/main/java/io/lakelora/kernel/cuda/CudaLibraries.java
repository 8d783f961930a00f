package io.lakelora.kernel.cuda;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds the host's CUDA libraries before any binding loads them, so a machine without a GPU driver gets a clear
 * message (or the CPU backend) instead of a linkage error. The bindings (bytedeco's JavaCPP presets, without the
 * {@code -redist} jars) load the host's libraries: {@code libcuda.so.1} from the driver and the CUDA 13 runtime,
 * cuBLAS, cuBLASLt and NVRTC (CUDA 12 for the {@code cuda12} build).
 *
 * <p>The search follows the loader's order as JavaCPP uses it: {@code -Dorg.bytedeco.javacpp.platform.preloadpath},
 * {@code java.library.path} (only with {@code -Dorg.bytedeco.javacpp.pathsFirst=true}), {@code LD_LIBRARY_PATH}, the
 * directories of {@code /etc/ld.so.conf} and its includes, then the standard library directories.
 */
public final class CudaLibraries {
    private CudaLibraries() {}

    /** The libraries the CUDA 13 bindings need, in load order (cuBLASLt before cuBLAS, which needs it). */
    public static final List<String> CUDA13 =
            List.of("libcuda.so.1", "libcudart.so.13", "libcublasLt.so.13", "libcublas.so.13", "libnvrtc.so.13");

    /** The libraries the CUDA 12 bindings ({@code -Pcuda12}) need, in load order. */
    public static final List<String> CUDA12 =
            List.of("libcuda.so.1", "libcudart.so.12", "libcublasLt.so.12", "libcublas.so.12", "libnvrtc.so.12");

    static final List<Path> STANDARD_DIRS = List.of(
            Path.of("/usr/lib/x86_64-linux-gnu"),
            Path.of("/usr/lib/aarch64-linux-gnu"),
            Path.of("/usr/lib64"),
            Path.of("/lib64"),
            Path.of("/usr/lib"),
            Path.of("/lib"),
            Path.of("/usr/local/cuda/lib64"),
            Path.of("/usr/lib/wsl/lib"));

    /** What a search found: each library's path, the missing names, and the directories searched in order. */
    public record Probe(Map<String, Path> found, List<String> missing, List<Path> searched) {
        public boolean ok() {
            return missing.isEmpty();
        }

        /**
         * Loads every library found, in order, by its full path ({@link System#load}), so that the bindings' own
         * libraries link to exactly these (the dynamic loader matches a needed soname to the first object loaded
         * with it), whatever copies JavaCPP's built-in search paths (such as {@code /usr/local/cuda/lib64}) hold.
         *
         * @throws CudaUnavailableException when one is missing or does not load
         */
        public void loadAll() {
            require();
            List<Path> files = new ArrayList<>();
            for (Path p : found.values()) {
                Path builtins = nvrtcBuiltins(p);
                if (builtins != null) files.add(builtins);
                files.add(p);
            }
            for (Path f : files) {
                try {
                    System.load(f.toAbsolutePath().toString());
                } catch (UnsatisfiedLinkError x) {
                    throw new CudaUnavailableException(f + " did not load: "
                            + x.getMessage() + ". Fix: point LD_LIBRARY_PATH or "
                            + "-Dorg.bytedeco.javacpp.platform.preloadpath at a complete set of CUDA libraries of one "
                            + "version (its missing dependencies are named above)");
                }
            }
        }

        /** Throws {@link CudaUnavailableException} with the fix unless every library was found. */
        public void require() {
            if (ok()) return;
            StringBuilder m = new StringBuilder("CUDA is not usable here: ");
            m.append(String.join(", ", missing))
                    .append(" not found in ")
                    .append(searched)
                    .append(". Fix: ");
            if (missing.contains("libcuda.so.1")) {
                m.append("libcuda.so.1 is the NVIDIA driver's library: run on a GPU node with driver >= 580 (CUDA 13; "
                        + "build with -Pcuda12 for older drivers), or add the driver's library directory to "
                        + "LD_LIBRARY_PATH; ");
            }
            if (missing.size() > (missing.contains("libcuda.so.1") ? 1 : 0)) {
                m.append("point LD_LIBRARY_PATH or -Dorg.bytedeco.javacpp.platform.preloadpath at the CUDA runtime, "
                        + "cuBLAS and NVRTC libraries (a CUDA toolkit's lib64, or a PyTorch venv's "
                        + "site-packages/nvidia/cu13/lib); ");
            }
            m.append("or use the CPU kernels (-Dlakelora.kernels=vector or scalar)");
            throw new CudaUnavailableException(m.toString());
        }
    }

    /**
     * NVRTC's companion {@code libnvrtc-builtins.so.<major>.<minor>} beside {@code lib} when {@code lib} is
     * {@code libnvrtc.so.<major>} (the newest such file; null if none, or for another library). NVRTC opens it by
     * name when it compiles, through {@code LD_LIBRARY_PATH} only; loading it first by its path makes it found
     * wherever the preload path points.
     */
    static Path nvrtcBuiltins(Path lib) {
        String n = lib.getFileName().toString();
        if (!n.startsWith("libnvrtc.so.")) return null;
        String prefix = "libnvrtc-builtins.so." + n.substring("libnvrtc.so.".length()) + ".";
        Path dir = lib.toAbsolutePath().getParent();
        Path best = null;
        try (var files = Files.newDirectoryStream(dir, prefix + "*")) {
            for (Path f : files) {
                String rest = f.getFileName().toString().substring(prefix.length());
                if (!rest.matches("\\d+") || !Files.isRegularFile(f)) continue; // not the .alt. variants
                if (best == null
                        || f.getFileName()
                                        .toString()
                                        .compareTo(best.getFileName().toString())
                                > 0) best = f;
            }
        } catch (IOException e) {
            return null;
        }
        return best;
    }

    /**
     * The version of the CUDA bindings on the class path (e.g. {@code 13.1-9.19-1.5.13}), from their
     * {@code pom.properties} (kept in a shaded jar), or null when they are absent.
     */
    public static String bindingsVersion() {
        try (var in = CudaLibraries.class.getResourceAsStream("/META-INF/maven/org.bytedeco/cuda/pom.properties")) {
            if (in == null) return null;
            java.util.Properties p = new java.util.Properties();
            p.load(in);
            return p.getProperty("version");
        } catch (IOException e) {
            return null;
        }
    }

    /** The CUDA major version of a presets version ({@code 12.9-9.10-1.5.12} -> 12). */
    static int cudaMajor(String presetsVersion) {
        try {
            return Integer.parseInt(presetsVersion.substring(0, presetsVersion.indexOf('.')));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(
                    "CUDA bindings version '" + presetsVersion + "': expected MAJOR.MINOR-...");
        }
    }

    /** The libraries the bindings on the class path need: {@link #CUDA12} for a 12.x build, else {@link #CUDA13}. */
    public static List<String> forBindings() {
        String v = bindingsVersion();
        return v != null && cudaMajor(v) == 12 ? CUDA12 : CUDA13;
    }

    /** Searches this process's library path for the libraries of the bindings on the class path. */
    public static Probe probe() {
        return probe(
                forBindings(),
                searchPath(
                        System.getProperty("org.bytedeco.javacpp.platform.preloadpath"),
                        Boolean.getBoolean("org.bytedeco.javacpp.pathsFirst")
                                ? System.getProperty("java.library.path")
                                : null,
                        System.getenv("LD_LIBRARY_PATH"),
                        Path.of("/etc/ld.so.conf")));
    }

    /** Finds each of {@code names} in the first of {@code dirs} that holds it. */
    public static Probe probe(List<String> names, List<Path> dirs) {
        Map<String, Path> found = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        for (String name : names) {
            Path hit = null;
            for (Path d : dirs) {
                Path f = d.resolve(name);
                if (Files.isRegularFile(f)) { // follows symbolic links, as the loader does
                    hit = f;
                    break;
                }
            }
            if (hit == null) missing.add(name);
            else found.put(name, hit);
        }
        return new Probe(found, missing, dirs);
    }

    /**
     * The directories in search order, from the settings given (each a {@code :}-separated list, or null) and an
     * {@code ld.so.conf} (ignored if absent), then {@link #STANDARD_DIRS}; duplicates removed.
     */
    public static List<Path> searchPath(
            String preloadPath, String javaLibraryPathFirst, String ldLibraryPath, Path ldSoConf) {
        Set<Path> dirs = new LinkedHashSet<>();
        for (String list : new String[] {preloadPath, javaLibraryPathFirst, ldLibraryPath}) {
            if (list == null) continue;
            for (String d : list.split(java.io.File.pathSeparator)) if (!d.isBlank()) dirs.add(Path.of(d.trim()));
        }
        readLdSoConf(ldSoConf, dirs, 0);
        dirs.addAll(STANDARD_DIRS);
        return new ArrayList<>(dirs);
    }

    private static void readLdSoConf(Path conf, Set<Path> dirs, int depth) {
        if (conf == null || depth > 4 || !Files.isRegularFile(conf)) return;
        List<String> lines;
        try {
            lines = Files.readAllLines(conf);
        } catch (IOException e) {
            return; // an unreadable loader config only narrows the search; the probe reports what it searched
        }
        for (String raw : lines) {
            String line = raw.replaceAll("#.*", "").trim();
            if (line.isEmpty()) continue;
            if (line.startsWith("include ")) {
                String pattern = line.substring("include ".length()).trim();
                Path p = conf.getParent().resolve(pattern);
                Path dir = p.getParent();
                String glob = p.getFileName().toString();
                if (dir == null || !Files.isDirectory(dir)) continue;
                try (var files = Files.newDirectoryStream(dir, glob)) {
                    List<Path> sorted = new ArrayList<>();
                    files.forEach(sorted::add);
                    sorted.sort(null);
                    for (Path f : sorted) readLdSoConf(f, dirs, depth + 1);
                } catch (IOException e) {
                    // as above
                }
            } else {
                dirs.add(Path.of(line));
            }
        }
    }

    /** Which backend to run, and why. */
    public record Choice(boolean cuda, String reason) {}

    /**
     * The backend for a request ({@code cuda}: CUDA or an error; {@code auto}: CUDA when its libraries are present,
     * else the CPU; anything else: the CPU) given a probe.
     *
     * @throws CudaUnavailableException when {@code cuda} was requested and the probe failed
     */
    public static Choice choose(String requested, Probe probe) {
        String r = requested == null ? "auto" : requested.trim().toLowerCase(java.util.Locale.ROOT);
        switch (r) {
            case "cuda" -> {
                probe.require();
                return new Choice(
                        true,
                        "requested cuda; libraries found: " + probe.found().values());
            }
            case "auto" -> {
                return probe.ok()
                        ? new Choice(
                                true, "CUDA libraries found: " + probe.found().values())
                        : new Choice(false, "CPU: " + String.join(", ", probe.missing()) + " not found");
            }
            default -> {
                return new Choice(false, "requested " + r);
            }
        }
    }
}
