package io.lakelora.cli;

import io.lakelora.bench.CudaOpsCheck;
import io.lakelora.kernel.cuda.BytedecoCudaApi;
import io.lakelora.kernel.cuda.CubinCache;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lakelora gpu-check [--gpu N] [--sizes gpu|small]}: compiles the CUDA kernels with NVRTC on GPU N and checks
 * every operation against the Java engine ({@link CudaOpsCheck}); exits 1 when a check fails. {@code bin/gpu-check}
 * packs a Java runtime and the jars to run it on a machine without Java.
 */
@Command(
        name = "gpu-check",
        description = "Check the CUDA kernels on a GPU against the Java engine (decode bit for bit, every op within "
                + "its bound); needs the CUDA 13 libraries (docs/gpu.md).")
public final class GpuCheckCommand extends BaseCommand {
    @Option(names = "--gpu", description = "GPU ordinal (default 0).")
    int gpu;

    @Option(names = "--sizes", description = "gpu (real layer widths, default) or small.")
    String sizes = "gpu";

    @Option(names = "--cubin-cache", description = "Folder of compiled kernels (default ~/.cache/lakelora/cuda).")
    Path cache;

    @Override
    protected Map<String, Object> execute() {
        CudaOpsCheck.Sizes s = switch (sizes) {
            case "gpu" -> CudaOpsCheck.Sizes.gpu();
            case "small" -> CudaOpsCheck.Sizes.small();
            default -> throw new IllegalArgumentException("--sizes " + sizes + ": expected gpu or small");
        };
        try (BytedecoCudaApi api = BytedecoCudaApi.open(gpu)) {
            List<CudaOpsCheck.Result> results =
                    CudaOpsCheck.run(api, cache != null ? cache : CubinCache.defaultDir(), s, System.err);
            List<String> failed = results.stream()
                    .filter(r -> !r.pass())
                    .map(CudaOpsCheck.Result::name)
                    .toList();
            if (!failed.isEmpty()) {
                throw new IllegalStateException(
                        failed.size() + " of " + results.size() + " GPU checks failed: " + String.join("; ", failed));
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("device", api.device().name());
            m.put("sm", api.device().sm());
            m.put("checks", results.size());
            m.put("failed", 0);
            return m;
        }
    }
}
