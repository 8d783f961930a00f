package io.lakelora.kernel.cuda;

import io.lakelora.util.Hashes;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The CUDA C sources of {@link CudaKernel}, as NVRTC compiles them: each file's text is the shared prelude
 * ({@code common.cuh}) followed by a {@code #line} directive and the file, so a compile error names the file and line
 * it is on. The sources include no header, and the options are NVRTC's own ({@link #nvrtcOptions}), so the same text
 * compiles with {@code nvcc -cubin} (the compile check) and with NVRTC at run time.
 */
public final class CudaSources {
    private CudaSources() {}

    /** The resource folder of the sources. */
    public static final String DIR = "/io/lakelora/kernel/cuda/";

    /** The prelude every source is compiled with. */
    public static final String PRELUDE = "common.cuh";

    /** The source files' base names, in {@link CudaKernel} order. */
    public static List<String> names() {
        Set<String> names = new LinkedHashSet<>();
        for (CudaKernel k : CudaKernel.values()) names.add(k.source());
        return new ArrayList<>(names);
    }

    /** The kernels defined in source {@code name}. */
    public static List<CudaKernel> kernelsOf(String name) {
        List<CudaKernel> out = new ArrayList<>();
        for (CudaKernel k : CudaKernel.values()) if (k.source().equals(name)) out.add(k);
        if (out.isEmpty())
            throw new IllegalArgumentException("no CUDA source '" + name + "': expected one of " + names());
        return out;
    }

    /** The file {@code name.cu} alone, as stored. */
    public static String file(String name) {
        return resource(name + ".cu");
    }

    /** What the compiler sees for {@code name}: the prelude, then the file with its own line numbers. */
    public static String text(String name) {
        return resource(PRELUDE) + "\n#line 1 \"" + name + ".cu\"\n" + file(name);
    }

    /**
     * NVRTC options for a device of compute capability {@code major.minor}: a cubin for exactly that SM, C++17, and
     * the default IEEE division and square root (no {@code --use_fast_math}: the kernels rely on them).
     */
    public static List<String> nvrtcOptions(int major, int minor) {
        if (major < 5 || major > 20 || minor < 0 || minor > 9) {
            throw new IllegalArgumentException("compute capability " + major + "." + minor + ": expected 5.0 .. 20.9");
        }
        return List.of("--gpu-architecture=sm_" + major + minor, "--std=c++17");
    }

    /**
     * The cache key of a compiled source: the SHA-256 of its text and options, and the SM, e.g.
     * {@code quant-3f2a...-sm90}. A change to the source, the prelude or the options gives a new key.
     */
    public static String cacheKey(String name, List<String> options, int major, int minor) {
        String h = Hashes.sha256Hex(text(name) + "\n//" + String.join(" ", options));
        return name + "-" + h.substring(0, 32) + "-sm" + major + minor;
    }

    private static String resource(String file) {
        try (InputStream in = CudaSources.class.getResourceAsStream(DIR + file)) {
            if (in == null) {
                throw new IllegalStateException(
                        "CUDA source " + DIR + file + " is not on the class path. Fix: rebuild the engine jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading CUDA source " + DIR + file, e);
        }
    }
}
