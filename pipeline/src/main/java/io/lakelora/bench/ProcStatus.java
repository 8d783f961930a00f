package io.lakelora.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads this process's memory counters from {@code /proc/self/status} (Linux): VmHWM = peak RSS, VmRSS = current. */
public final class ProcStatus {
    private ProcStatus() {}

    /**
     * The value in kB of field {@code name} (e.g. {@code VmHWM}), or -1 where /proc is not available (not Linux).
     */
    public static long kb(String name) {
        Path p = Path.of("/proc/self/status");
        try {
            for (String line : Files.readAllLines(p)) {
                if (line.startsWith(name + ":")) {
                    return Long.parseLong(
                            line.substring(name.length() + 1).trim().split("\\s+")[0]);
                }
            }
            throw new IllegalStateException(p + " has no " + name + " line");
        } catch (IOException e) {
            return -1;
        }
    }

    /** The value of field {@code name} in MB (rounded down), or null where /proc is not available. */
    public static Long mb(String name) {
        long kb = kb(name);
        return kb < 0 ? null : kb / 1024;
    }

    /**
     * Field {@code name} of {@code /proc/self/io} in bytes (e.g. {@code read_bytes}: what this process caused to be
     * fetched from storage, page-cache hits excluded), or -1 where it is not readable.
     */
    public static long ioBytes(String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/io"))) {
                if (line.startsWith(name + ":"))
                    return Long.parseLong(line.substring(name.length() + 1).trim());
            }
            return -1;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The 1, 5 and 15 minute load averages from /proc/loadavg, or "unknown". */
    public static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "unknown";
        }
    }
}
