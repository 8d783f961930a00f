package io.lakelora.peft;

import com.fasterxml.jackson.databind.JsonNode;
import io.lakelora.error.BadInputException;
import io.lakelora.lora.AdapterLayout;
import io.lakelora.lora.LoraConfig;
import io.lakelora.lora.TargetModule;
import io.lakelora.model.ModelConfig;
import java.nio.file.Path;
import java.util.Locale;

/**
 * PiSSA and LoftQ adapters written as plain LoRA adapters of the original base, as PEFT's
 * {@code save_pretrained(..., path_initial_model_for_weight_conversion=...)} does ({@code subtract_mutated_init}).
 *
 * <p>PiSSA and LoftQ initialise (A0, B0) from the base weight W and then train against a rewritten base: PiSSA's
 * residual {@code W - s B0 A0}, LoftQ's {@code deq(Q)} (with {@code deq(Q) + s B0 A0 ~ W}). The trained (A, B) fit
 * only that base: applied to W, PiSSA's principal components would count twice. The conversion writes the update
 * relative to the initialisation, {@code delta W = s (B A - B0 A0)}, as a rank-2r LoRA: {@code A' = [A; A0]}
 * ([2r, in]), {@code B' = [B, -B0]} ([out, 2r]), so {@code B' A' = B A - B0 A0}; {@code r' = 2r} and
 * {@code lora_alpha' = 2 alpha} ({@code sqrt(2) alpha} with rsLoRA) keep the scaling, and {@code init_lora_weights}
 * becomes {@code true}: PEFT's conversion, config and tensors.
 *
 * <p>On a consumer's base W~ the converted adapter computes {@code W~ + s (B A - B0 A0)}; the trained model was
 * {@code base_t + s B A}. They differ by {@code (W~ - W) - (base_t - (W - s B0 A0))}:
 *
 * <ul>
 *   <li>PiSSA trained on fp32, used on fp32 W: fp32 rounding only (the residual was stored in fp32);
 *   <li>PiSSA trained on NF4: {@code NF4(W - s B0 A0)} was trained, so on W the gap is that quantization error, on
 *       {@code NF4(W)} the difference of two quantization errors (PEFT warns "Quant(W_res) + AB != Quant(W) +
 *       Delta(AB)");
 *   <li>LoftQ: {@code W - deq(Q) - s B0 A0} on W (the error LoftQ minimises), plus NF4's own error on {@code NF4(W)}.
 * </ul>
 *
 * An adapter whose config still names a base-rewriting init is refused on import ({@link #requirePlainLora}).
 */
public final class PlainLoraExport {
    private PlainLoraExport() {}

    /** A converted adapter: its config (r = 2r, alpha adjusted, init true), layout and parameter slab. */
    public record Converted(LoraConfig config, AdapterLayout layout, float[] params) {}

    /**
     * Writes the PEFT adapter of a training run to {@code dir}: as it is for the inits that leave the base alone, and
     * converted ({@link #toPlainLora}) for PiSSA/LoftQ. Returns the config written.
     *
     * @param trained the trained slab over {@code layout}
     * @param initial the slab as initialised (A0, B0), over the same layout; read only for PiSSA/LoftQ
     */
    public static LoraConfig save(
            Path dir,
            ModelConfig model,
            LoraConfig cfg,
            AdapterLayout layout,
            float[] trained,
            float[] initial,
            String baseModelNameOrPath) {
        if (!cfg.initKind().rewritesBase()) {
            PeftAdapter.save(dir, cfg, layout, trained, baseModelNameOrPath);
            return cfg;
        }
        Converted c = toPlainLora(model, cfg, layout, trained, initial);
        PeftAdapter.save(dir, c.config(), c.layout(), c.params(), baseModelNameOrPath);
        return c.config();
    }

    /**
     * The plain-LoRA form of an adapter trained from a base-rewriting init ({@code pissa}, {@code pissa_niter_N},
     * {@code loftq}): {@code A' = [A; A0]}, {@code B' = [B, -B0]}, {@code r' = 2r}, the same scaling.
     */
    public static Converted toPlainLora(
            ModelConfig model, LoraConfig cfg, AdapterLayout layout, float[] trained, float[] initial) {
        if (!cfg.initKind().rewritesBase()) {
            throw new IllegalArgumentException("init_lora_weights '" + cfg.initLoraWeights() + "' leaves the base "
                    + "unchanged: the adapter is a plain LoRA already and needs no conversion");
        }
        AdapterLayout expected = PeftAdapter.layoutFor(model, cfg);
        if (expected.size() != layout.size()
                || layout.rank() != cfg.r()
                || !layout.targets().equals(cfg.targets())) {
            throw new IllegalArgumentException("adapter layout (r=" + layout.rank() + ", " + layout.targets() + ", "
                    + layout.size() + " floats) does not match the LoRA config (r=" + cfg.r() + ", " + cfg.targets()
                    + ", " + expected.size() + " floats) on this model");
        }
        if (trained.length != layout.size() || initial.length != layout.size()) {
            throw new IllegalArgumentException("trained slab has " + trained.length + " floats and initial slab "
                    + initial.length + ", the layout needs " + layout.size());
        }
        int r = cfg.r();
        double alpha = cfg.useRslora() ? cfg.loraAlpha() * Math.sqrt(2) : 2 * cfg.loraAlpha();
        LoraConfig plain = new LoraConfig(
                2 * r, alpha, cfg.loraDropout(), cfg.targetModules(), cfg.useRslora(), Boolean.TRUE, null, cfg.bias());
        if (Math.abs(plain.scaling() - cfg.scaling()) > 1e-12 * cfg.scaling()) {
            throw new IllegalStateException("converted scaling " + plain.scaling() + " != " + cfg.scaling());
        }
        AdapterLayout out = PeftAdapter.layoutFor(model, plain);
        float[] p = new float[out.size()];
        for (int l = 0; l < layout.numLayers(); l++) {
            for (TargetModule m : layout.targets()) {
                AdapterLayout.Tensor a = layout.find(l, m, true); // [r, in]
                AdapterLayout.Tensor b = layout.find(l, m, false); // [out, r]
                AdapterLayout.Tensor a2 = out.find(l, m, true); // [2r, in]
                AdapterLayout.Tensor b2 = out.find(l, m, false); // [out, 2r]
                // A' = cat([A, A0], dim=0): rows 0..r-1 trained, rows r..2r-1 initial
                System.arraycopy(trained, a.offset(), p, a2.offset(), a.size());
                System.arraycopy(initial, a.offset(), p, a2.offset() + a.size(), a.size());
                // B' = cat([B, -B0], dim=1): each row is the trained row, then the negated initial row
                for (int i = 0; i < b.rows(); i++) {
                    int src = b.offset() + i * r;
                    int dst = b2.offset() + i * 2 * r;
                    System.arraycopy(trained, src, p, dst, r);
                    for (int k = 0; k < r; k++) p[dst + r + k] = -initial[src + k];
                }
            }
        }
        return new Converted(plain, out, p);
    }

    /**
     * Refuses an {@code adapter_config.json} that still names a base-rewriting init ({@code init_lora_weights}
     * pissa, pissa_niter_N, loftq, olora or corda, or a non-empty {@code loftq_config}): such an adapter fits only the
     * base its initialisation rewrote, and on the original base it would silently compute something else.
     *
     * @param where the file or registry version, for the message
     */
    public static void requirePlainLora(JsonNode adapterConfig, String where) {
        JsonNode init = adapterConfig.path("init_lora_weights");
        String kind = null;
        if (init.isTextual()) {
            String v = init.asText().trim().toLowerCase(Locale.ROOT);
            if (v.startsWith("pissa") || v.equals("loftq") || v.equals("olora") || v.equals("corda")) {
                kind = "init_lora_weights is '" + init.asText() + "'";
            }
        }
        JsonNode loftq = adapterConfig.path("loftq_config");
        if (kind == null && loftq.isObject() && loftq.size() > 0) kind = "loftq_config is " + loftq;
        if (kind == null) return;
        throw new BadInputException("adapter config " + where + ": " + kind + ". That init rewrites the base weights "
                + "(PiSSA trains against W - s B0 A0, LoftQ against its quantized deq(Q)), so these A/B fit only that "
                + "rewritten base; on the original base they would count the initial B0 A0 twice. Fix: convert it to "
                + "a plain LoRA of the original base (r = 2r, init_lora_weights true): if LakeLoRA's train-local wrote "
                + "it, rerun the same train-local command with the same --out (it resumes from OUT/checkpoints and "
                + "writes the converted adapter); if PEFT wrote it, save it again with save_pretrained(DIR, "
                + "path_initial_model_for_weight_conversion=INIT_DIR), INIT_DIR holding the adapter as initialised "
                + "before training");
    }
}
