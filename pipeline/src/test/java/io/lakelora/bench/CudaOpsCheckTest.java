package io.lakelora.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lakelora.kernel.cuda.CudaApi;
import io.lakelora.kernel.cuda.FakeCudaApi;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GPU parity suite ({@link CudaOpsCheck}, what {@code bin/gpu-check} runs on a device) passes on the fake API, and
 * fails when the device's GEMM is wrong.
 */
class CudaOpsCheckTest {
    @TempDir
    Path cache;

    @Test
    void everyCheckPassesOnTheFake() {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        List<CudaOpsCheck.Result> results;
        try (FakeCudaApi api = new FakeCudaApi(1L << 30)) {
            results = CudaOpsCheck.run(api, cache, CudaOpsCheck.Sizes.small(), new PrintStream(log, true));
            assertEquals(0, api.allocatedBytes(), "every buffer freed");
        }
        String text = log.toString(StandardCharsets.UTF_8);
        System.out.print(text);
        // 8 decodes, 4 GEMMs, 3 frozen products, 4 + 1 LoRA layer, 2 RMSNorm, 3 SwiGLU, 2 dropout, RoPE,
        // 5 attention, 2 cross-entropy
        assertEquals(35, results.size(), text);
        assertTrue(results.stream().allMatch(CudaOpsCheck.Result::pass), text);
        assertTrue(text.contains("35 checks, 0 failed"), text);
    }

    @Test
    void aFailingLaunchFailsItsSectionAndTheRestStillRuns() {
        try (FakeCudaApi fake = new FakeCudaApi(1L << 30)) {
            CudaApi api = (CudaApi) Proxy.newProxyInstance(
                    CudaApi.class.getClassLoader(), new Class<?>[] {CudaApi.class}, (proxy, method, args) -> {
                        if (method.getName().equals("launch")
                                && args[4].toString().equals("[PTR, I32, PTR, PTR, PTR, I32, I32, I32, F32]")) {
                            throw new io.lakelora.kernel.cuda.CudaException(
                                    "cuLaunchKernel", 700, "CUDA_ERROR_ILLEGAL_ADDRESS");
                        }
                        try {
                            return method.invoke(fake, args);
                        } catch (java.lang.reflect.InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            List<CudaOpsCheck.Result> results =
                    CudaOpsCheck.run(api, cache, CudaOpsCheck.Sizes.small(), new PrintStream(log, true));
            String text = log.toString(StandardCharsets.UTF_8);
            assertTrue(
                    text.contains("FAIL row and element-wise ops: io.lakelora.kernel.cuda.CudaException: "
                            + "cuLaunchKernel failed: CUDA_ERROR_ILLEGAL_ADDRESS (700)"),
                    text);
            assertTrue(text.contains("ok   attention GQA"), "the next section ran:\n" + text);
            assertEquals(1, results.stream().filter(r -> !r.pass()).count(), text);
        }
    }

    @Test
    void aWrongGemmFailsTheChecksThatUseIt() {
        try (FakeCudaApi fake = new FakeCudaApi(1L << 30)) {
            // a device whose GEMM scales alpha by 1.001: every product is off by 1e-3
            CudaApi api = (CudaApi) Proxy.newProxyInstance(
                    CudaApi.class.getClassLoader(), new Class<?>[] {CudaApi.class}, (proxy, method, args) -> {
                        if (method.getName().startsWith("gemm")) args[5] = (Float) args[5] * 1.001f;
                        try {
                            return method.invoke(fake, args);
                        } catch (java.lang.reflect.InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            List<CudaOpsCheck.Result> results =
                    CudaOpsCheck.run(api, cache, CudaOpsCheck.Sizes.small(), new PrintStream(log, true));
            String text = log.toString(StandardCharsets.UTF_8);
            long failed = results.stream().filter(r -> !r.pass()).count();
            assertTrue(text.contains("FAIL sgemm fp32 transA=false transB=false"), text);
            assertTrue(text.contains("ok   decode nf4+dq"), text);
            assertTrue(failed >= 10, failed + " failed:\n" + text);
        }
    }
}
