package io.lakelora.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A fair peer: OpenBLAS picks its kernel by CPU model, and an OpenBLAS older than the CPU (Debian 12's 0.3.21 on AMD
 * Zen 5, family 26) falls back to its Haswell AVX2 kernel on a CPU with AVX-512, which halves the peer's matrix
 * speed; an environment may also pin {@code OPENBLAS_CORETYPE} (this workplace's machines set {@code Haswell}). With
 * {@code --torch-coretype auto} (the default) the peer's process gets {@code OPENBLAS_CORETYPE=SkylakeX} when the CPU
 * has the AVX-512 subsets that kernel needs (F, DQ, BW, VL), whatever the environment says, and OpenBLAS's own choice
 * otherwise; {@code inherit} keeps the environment; any other value is passed as the core type. The benchmark reports
 * the setting and the kernel the probe then finds.
 */
public final class PeerBlas {
    private PeerBlas() {}

    /**
     * Puts the peer's OpenBLAS core type into {@code env} for {@code mode} ({@code auto}, {@code inherit} or a core
     * type name); returns what was decided, for the report.
     */
    public static String configure(Map<String, String> env, String mode) {
        String inherited = env.get("OPENBLAS_CORETYPE");
        String was = inherited == null ? "" : " (the environment had " + inherited + ")";
        if ("inherit".equals(mode)) {
            return inherited == null
                    ? "OpenBLAS's own kernel choice"
                    : "OPENBLAS_CORETYPE=" + inherited + " (inherited)";
        }
        if (!"auto".equals(mode)) {
            env.put("OPENBLAS_CORETYPE", mode);
            return "OPENBLAS_CORETYPE=" + mode + " (--torch-coretype)" + was;
        }
        if (hasAvx512ForSkylakeX(cpuFlags())) {
            env.put("OPENBLAS_CORETYPE", "SkylakeX");
            return "OPENBLAS_CORETYPE=SkylakeX: the CPU has AVX-512, so the peer gets OpenBLAS's AVX-512 kernel" + was;
        }
        env.remove("OPENBLAS_CORETYPE");
        return "OpenBLAS's own kernel choice (no AVX-512 on this CPU)" + was;
    }

    static boolean hasAvx512ForSkylakeX(List<String> flags) {
        return flags.containsAll(List.of("avx512f", "avx512dq", "avx512bw", "avx512vl"));
    }

    private static List<String> cpuFlags() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags")) {
                    return List.of(line.substring(line.indexOf(':') + 1).trim().split("\\s+"));
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: leave OpenBLAS to its own choice
        }
        return List.of();
    }
}
