package io.lakelora.jobs.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.lora.LoraConfig;
import io.lakelora.safetensors.SafetensorsFile;
import io.lakelora.safetensors.TensorInfo;
import io.lakelora.util.Fields;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What changed between two adapter versions, as weight updates: per adapted linear layer {@code delta W = s B A}
 * ({@code s} = {@link LoraConfig#scaling()}: alpha / r, or alpha / sqrt(r) with rsLoRA), the Frobenius norms
 * {@code ||delta W_a||}, {@code ||delta W_b||} and {@code ||delta W_a - delta W_b||}, per layer, per module name
 * (q_proj summed over layers) and in total (the norm over all layers, i.e. the root of the summed squares).
 *
 * <p>Never forms the dense {@code out x in} products: {@code ||B A||_F^2 = sum_ij (A A^T)_ij (B^T B)_ij}, and the
 * difference is the product of the concatenations {@code [s_a B_a, -s_b B_b] [A_a; A_b]}, so a layer costs
 * O((out + in) (r_a + r_b)^2) in double precision. The difference is exact (0) for identical weights and otherwise
 * accurate to about 1e-8 of the larger version's norm (the Gram form squares the norms). A layer adapted in one version
 * only counts as zero in the other.
 *
 * <p>Dimension letters: R rank, IN in_features, OUT out_features.
 */
public final class AdapterDiff {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern KEY = Pattern.compile(
            "^(?:base_model\\.model\\.)?(.+)\\.lora_(A|B)" + "(?:\\.(?!weight$)[A-Za-z0-9_\\-]+)?(?:\\.weight)?$");
    private static final Pattern LAYER = Pattern.compile("\\.layers\\.(\\d+)\\.");

    private AdapterDiff() {}

    /** One version's PEFT files as the registry holds them, and its reference for messages ({@code name@3}). */
    public record Side(String ref, byte[] adapterSafetensors, String adapterConfigJson) {}

    /** The norms of one layer (or one module name, or the total); {@code relative} is diff / a (NaN when a is 0). */
    public record Norms(
            String module,
            @Fields.Key("norm_a") double a,
            @Fields.Key("norm_b") double b,
            @Fields.Key("norm_diff") double diff) {
        public double relative() {
            return a == 0 ? Double.NaN : diff / a;
        }

        public Map<String, Object> asMap() {
            Map<String, Object> m = Fields.of(this);
            m.put("relative_diff", relative());
            return m;
        }
    }

    /** The diff of two versions: per layer (in layer, module order), per module name, the total, and the scales. */
    public record Result(
            String a, String b, double scaleA, double scaleB, List<Norms> layers, List<Norms> modules, Norms total) {
        /** The {@code n} layers with the largest {@code ||delta W_a - delta W_b||}, largest first. */
        public List<Norms> changedMost(int n) {
            return layers.stream()
                    .sorted(Comparator.comparingDouble(Norms::diff).reversed())
                    .limit(n)
                    .toList();
        }
    }

    /** One adapted layer: A (R, IN), B (OUT, R) as floats, and its scale. */
    private record Lora(int r, int in, int out, float[] a, float[] b, double scale) {}

    /** Compares {@code a} with {@code b}. */
    public static Result diff(Side a, Side b) {
        double sa = scaling(a);
        double sb = scaling(b);
        Map<String, Lora> la = read(a, sa);
        Map<String, Lora> lb = read(b, sb);
        TreeSet<String> all =
                new TreeSet<>(Comparator.comparingInt(AdapterDiff::layerOf).thenComparing(Comparator.naturalOrder()));
        all.addAll(la.keySet());
        all.addAll(lb.keySet());
        List<Norms> layers = new ArrayList<>();
        Map<String, double[]> byName = new TreeMap<>();
        double[] total = new double[3];
        for (String m : all) {
            Lora x = la.get(m);
            Lora y = lb.get(m);
            if (x != null && y != null && (x.in() != y.in() || x.out() != y.out())) {
                throw new IllegalArgumentException("cannot diff " + a.ref() + " and " + b.ref() + ": layer " + m
                        + " is [" + x.out() + ", " + x.in() + "] in " + a.ref() + " but [" + y.out() + ", " + y.in()
                        + "] in " + b.ref() + " (adapters of different base models). Fix: compare versions trained on"
                        + " the same base model");
            }
            double na2 = x == null ? 0 : squaredNorm(List.of(x), 1);
            double nb2 = y == null ? 0 : squaredNorm(List.of(y), 1);
            double nd2;
            if (x == null) nd2 = nb2;
            else if (y == null) nd2 = na2;
            else if (x.scale() == y.scale() && Arrays.equals(x.a(), y.a()) && Arrays.equals(x.b(), y.b())) nd2 = 0;
            else nd2 = Math.max(0, squaredNorm(List.of(x, y), -1));
            layers.add(new Norms(m, Math.sqrt(na2), Math.sqrt(nb2), Math.sqrt(nd2)));
            double[] acc = byName.computeIfAbsent(m.substring(m.lastIndexOf('.') + 1), k -> new double[3]);
            acc[0] += na2;
            acc[1] += nb2;
            acc[2] += nd2;
            total[0] += na2;
            total[1] += nb2;
            total[2] += nd2;
        }
        List<Norms> modules = new ArrayList<>();
        byName.forEach((k, v) -> modules.add(new Norms(k, Math.sqrt(v[0]), Math.sqrt(v[1]), Math.sqrt(v[2]))));
        Norms t = new Norms("total", Math.sqrt(total[0]), Math.sqrt(total[1]), Math.sqrt(total[2]));
        return new Result(a.ref(), b.ref(), sa, sb, layers, modules, t);
    }

    /**
     * {@code ||sum_k sign^k s_k B_k A_k||_F^2} for one or two layers (sign -1: the difference of the two), as
     * {@code sum_ij G_A[i][j] G_B[i][j]} over the concatenated rank: {@code G_A = A' A'^T}, {@code G_B = B'^T B'}.
     */
    static double squaredNorm(List<Lora> parts, int sign) {
        int rr = 0;
        for (Lora p : parts) rr += p.r();
        int in = parts.get(0).in();
        int out = parts.get(0).out();
        double[][] rowsA = new double[rr][]; // A' (RR, IN)
        double[][] colsB = new double[rr][]; // B'^T (RR, OUT), scaled and signed
        int i0 = 0;
        double sgn = 1;
        for (Lora p : parts) {
            for (int i = 0; i < p.r(); i++) {
                double[] ra = new double[in];
                for (int k = 0; k < in; k++) ra[k] = p.a()[i * in + k];
                double[] cb = new double[out];
                for (int o = 0; o < out; o++) cb[o] = sgn * p.scale() * p.b()[o * p.r() + i];
                rowsA[i0 + i] = ra;
                colsB[i0 + i] = cb;
            }
            i0 += p.r();
            sgn *= sign;
        }
        double sum = 0;
        for (int i = 0; i < rr; i++) {
            for (int j = i; j < rr; j++) {
                double term = dot(rowsA[i], rowsA[j]) * dot(colsB[i], colsB[j]);
                sum += i == j ? term : 2 * term; // both Grams are symmetric
            }
        }
        return sum;
    }

    private static double dot(double[] x, double[] y) {
        double s = 0;
        for (int k = 0; k < x.length; k++) s += x[k] * y[k];
        return s;
    }

    /** The layer index of a module path ({@code model.layers.3.self_attn.q_proj} -> 3), -1 without one. */
    static int layerOf(String module) {
        Matcher m = LAYER.matcher("." + module + ".");
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** {@code s} of a version from its adapter_config.json, as the project defines it ({@link LoraConfig}). */
    static double scaling(Side s) {
        JsonNode c;
        try {
            c = s.adapterConfigJson() == null ? null : JSON.readTree(s.adapterConfigJson());
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "adapter " + s.ref() + ": its adapter_config_json in the registry is not valid JSON ("
                            + e.getMessage() + "). Fix: register the version again from its training run",
                    e);
        }
        if (c == null
                || !c.isObject()
                || !c.path("r").canConvertToInt()
                || !c.path("lora_alpha").isNumber()) {
            throw new IllegalArgumentException("adapter " + s.ref() + ": its adapter_config_json has no integer 'r' "
                    + "and numeric 'lora_alpha' (found " + abbreviate(String.valueOf(s.adapterConfigJson()))
                    + "). Fix: register the version again from its training run");
        }
        try {
            return LoraConfig.of(c.get("r").asInt(), c.get("lora_alpha").asDouble(), List.of("q_proj"))
                    .withRslora(c.path("use_rslora").asBoolean(false))
                    .scaling();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("adapter " + s.ref() + ": " + e.getMessage(), e);
        }
    }

    /** The LoRA pairs of a version, by module path ({@code model.layers.0.self_attn.q_proj}). */
    private static Map<String, Lora> read(Side s, double scale) {
        if (s.adapterSafetensors() == null || s.adapterSafetensors().length == 0) {
            throw new IllegalArgumentException("adapter " + s.ref() + " has no adapter weights in the registry. Fix: "
                    + "register the version again from its training run (job 03)");
        }
        Path tmp = null;
        try {
            tmp = Files.createTempFile("lakelora-diff-", ".safetensors");
            Files.write(tmp, s.adapterSafetensors());
            Map<String, float[]> as = new TreeMap<>();
            Map<String, float[]> bs = new TreeMap<>();
            Map<String, long[]> shapes = new TreeMap<>();
            try (SafetensorsFile f = SafetensorsFile.open(tmp)) {
                for (Map.Entry<String, TensorInfo> e : f.tensors().entrySet()) {
                    Matcher m = KEY.matcher(e.getKey());
                    long[] shape = e.getValue().shape();
                    if (!m.matches() || shape.length != 2) {
                        throw new IllegalArgumentException("adapter " + s.ref() + ": tensor '" + e.getKey() + "' "
                                + Arrays.toString(shape) + " is not a 2-d lora_A/lora_B weight (expected keys like "
                                + "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight)");
                    }
                    boolean isA = m.group(2).equals("A");
                    (isA ? as : bs).put(m.group(1), f.readFloats(e.getKey()));
                    shapes.put(m.group(1) + (isA ? "|A" : "|B"), shape);
                }
            }
            Map<String, Lora> out = new TreeMap<>();
            TreeSet<String> names = new TreeSet<>(as.keySet());
            names.addAll(bs.keySet());
            for (String n : names) {
                long[] sa = shapes.get(n + "|A");
                long[] sb = shapes.get(n + "|B");
                if (sa == null || sb == null || sa[0] != sb[1]) {
                    throw new IllegalArgumentException("adapter " + s.ref() + ": layer " + n + " has lora_A "
                            + (sa == null ? "missing" : Arrays.toString(sa)) + " and lora_B "
                            + (sb == null ? "missing" : Arrays.toString(sb))
                            + "; expected A [r, in] and B [out, r] with the same r");
                }
                out.put(n, new Lora((int) sa[0], (int) sa[1], (int) sb[0], as.get(n), bs.get(n), scale));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("writing adapter " + s.ref() + " to a temporary file", e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a leftover temp file is harmless
                }
            }
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }
}
