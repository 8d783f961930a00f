package io.lakelora.jobs.serve;

import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.jobs.runtime.AdapterVersion;
import io.lakelora.jobs.runtime.QuantizedModelMarker;
import io.lakelora.jobs.runtime.WeightsHash;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks that a model directory is the base an adapter version was trained on, by the sha256 the registry recorded:
 * a directory written by job 00 matches by its marker (the source weights' sha256 or the quantized weights' sha256,
 * no hashing needed), any other directory by the sha256 of its weights.
 */
public final class BaseModelCheck {
    private static final Logger LOG = LoggerFactory.getLogger(BaseModelCheck.class);

    private BaseModelCheck() {}

    /** The sha256 values that identify the model at {@code modelUri}. {@code local} is used only without a marker. */
    public static Set<String> identities(LakeFs fs, String modelUri, Supplier<Path> local) {
        Set<String> ids = new LinkedHashSet<>();
        Optional<QuantizedModelMarker> m = QuantizedModelMarker.read(fs, modelUri);
        if (m.isPresent()) {
            ids.add(m.get().sourceSha256());
            if (m.get().sha256() != null) ids.add(m.get().sha256());
        } else {
            ids.add(WeightsHash.of(local.get()));
        }
        return ids;
    }

    /**
     * Fails unless the model at {@code modelUri} is {@code v}'s base; returns the sha256 to record as the base (the
     * registry's when it has one, else the model's). {@code configKey} names the setting to fix in the message.
     */
    public static String verify(LakeFs fs, AdapterVersion v, String modelUri, Supplier<Path> local, String configKey) {
        Set<String> ids = identities(fs, modelUri, local);
        String want = v.baseModelSha256();
        if (want == null || want.isBlank()) {
            LOG.warn(
                    "[lakelora] adapter {} has no base_model_sha256 in the registry; cannot check that {} is its base",
                    v.ref(),
                    modelUri);
            return ids.iterator().next();
        }
        if (!ids.contains(want)) {
            throw new IllegalArgumentException("adapter " + v.ref() + " was trained on base model '" + v.baseModelId()
                    + "' with weights sha256 " + want + ", but " + configKey + " = " + modelUri + " has sha256 "
                    + String.join(" / ", ids) + ". An adapter on another base computes garbage. Fix: point "
                    + configKey + " at the adapter's base model (or its job 00 quantization), or turn the check off");
        }
        return want;
    }
}
