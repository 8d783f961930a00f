package io.lakelora.kernel.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The C declarations of the kernel sources against {@link CudaKernel}: every {@code extern "C" __global__} entry of
 * every file is declared in Java with the same parameters in the same order, and nothing else is exported.
 */
class CudaKernelSourcesTest {
    static final Pattern ENTRY =
            Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void\\s+(\\w+)\\s*\\(([^)]*)\\)", Pattern.DOTALL);

    /** symbol -> parameter kinds, parsed from the C text. */
    static Map<String, List<ArgKind>> parse(String text) {
        Map<String, List<ArgKind>> out = new LinkedHashMap<>();
        Matcher m = ENTRY.matcher(text);
        while (m.find()) {
            List<ArgKind> kinds = new ArrayList<>();
            for (String p : m.group(2).split(",")) {
                String decl = p.trim();
                // drop the parameter name: the last identifier
                String type = decl.replaceAll("\\w+$", "").trim();
                kinds.add(ArgKind.ofCType(type));
            }
            if (out.put(m.group(1), kinds) != null) throw new AssertionError("entry " + m.group(1) + " twice");
        }
        return out;
    }

    @Test
    void everyEntryPointMatchesItsJavaDeclaration() {
        int entries = 0;
        for (String name : CudaSources.names()) {
            Map<String, List<ArgKind>> parsed = parse(CudaSources.file(name));
            Map<String, List<ArgKind>> declared = new LinkedHashMap<>();
            for (CudaKernel k : CudaSources.kernelsOf(name)) declared.put(k.symbol(), k.params());
            assertEquals(declared, parsed, name + ".cu against CudaKernel");
            entries += parsed.size();
        }
        assertEquals(CudaKernel.values().length, entries);
    }

    @Test
    void sourcesIncludeNoHeaderAndExportNoTemplate() {
        assertTrue(CudaSources.text("quant").startsWith("// LakeLoRA CUDA kernels"));
        for (String name : CudaSources.names()) {
            String text = CudaSources.text(name);
            assertFalse(
                    Pattern.compile("(?m)^\\s*#\\s*include").matcher(text).find(),
                    name + ": NVRTC compiles these without headers");
            assertFalse(
                    Pattern.compile("\\btemplate\\s*<").matcher(text).find(),
                    name + ": entry points are plain extern \"C\" functions");
            assertTrue(text.contains("#line 1 \"" + name + ".cu\""), name);
        }
    }

    @Test
    void parsesCTypes() {
        assertEquals(ArgKind.PTR, ArgKind.ofCType("const unsigned char*"));
        assertEquals(ArgKind.PTR, ArgKind.ofCType("ll_bf16 *"));
        assertEquals(ArgKind.I64, ArgKind.ofCType("long long"));
        assertEquals(ArgKind.F32, ArgKind.ofCType("float"));
        assertEquals(ArgKind.I32, ArgKind.ofCType("int"));
        assertThrows(IllegalArgumentException.class, () -> ArgKind.ofCType("double"));
    }

    @Test
    void cacheKeyFollowsSourceOptionsAndSm() {
        List<String> o90 = CudaSources.nvrtcOptions(9, 0);
        assertEquals(List.of("--gpu-architecture=sm_90", "--std=c++17"), o90);
        String k = CudaSources.cacheKey("quant", o90, 9, 0);
        assertTrue(k.matches("quant-[0-9a-f]{32}-sm90"), k);
        assertEquals(k, CudaSources.cacheKey("quant", o90, 9, 0));
        assertNotEquals(k, CudaSources.cacheKey("rope", o90, 9, 0));
        assertNotEquals(k, CudaSources.cacheKey("quant", CudaSources.nvrtcOptions(8, 0), 8, 0));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.nvrtcOptions(3, 5));
        assertThrows(IllegalArgumentException.class, () -> CudaSources.kernelsOf("nope"));
    }
}
