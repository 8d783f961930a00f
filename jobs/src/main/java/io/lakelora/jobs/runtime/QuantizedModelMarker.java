package io.lakelora.jobs.runtime;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.lakelora.jobs.lake.LakeFs;
import io.lakelora.quant.Quantizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code _COMPLETE} file job 00 writes last into a quantized model directory in the lake: its presence means
 * every file is there; its content says what the directory holds (the source weights' sha256, the quantization
 * settings, the quantized weights' sha256), so a rerun on the same source and settings does nothing and a reader can
 * check an adapter's recorded base model against it without hashing gigabytes.
 *
 * @param format       version of this file's layout (1)
 * @param modelId      the model's name in the lake
 * @param source       where the source model was read from
 * @param sourceSha256 sha256 of the source weights ({@link io.lakelora.model.ModelDir#weightsSha256()})
 * @param sha256       sha256 of the quantized weights, same scheme ({@link WeightsHash})
 * @param quantType    nf4, fp4 or int8
 * @param blocksize    4-bit block size (0 for int8)
 * @param doubleQuant  whether the absmax values are quantized too
 * @param files        the files of the directory (without the marker)
 * @param sourceFiles  the source directory's files as name -> "size:modification time", so a rerun on unchanged
 *                     source files decides without reading the weights
 */
public record QuantizedModelMarker(
        @JsonProperty("format") int format,
        @JsonProperty("model_id") String modelId,
        @JsonProperty("source") String source,
        @JsonProperty("source_sha256") String sourceSha256,
        @JsonProperty("sha256") String sha256,
        @JsonProperty("quant_type") String quantType,
        @JsonProperty("blocksize") int blocksize,
        @JsonProperty("double_quant") boolean doubleQuant,
        @JsonProperty("bits_per_param") double bitsPerParam,
        @JsonProperty("source_bytes") long sourceBytes,
        @JsonProperty("output_bytes") long outputBytes,
        @JsonProperty("files") List<String> files,
        @JsonProperty("source_files") Map<String, String> sourceFiles,
        @JsonProperty("created_at") String createdAt) {

    public static final String FILE = "_COMPLETE";
    public static final int FORMAT = 1;
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** True when this marker describes a quantization of {@code sourceSha256} with {@code quantizer}'s settings. */
    public boolean matches(String sourceSha256, Quantizer quantizer) {
        return this.sourceSha256.equals(sourceSha256) && sameSettings(quantizer);
    }

    /** True when the directory was quantized with {@code quantizer}'s type, block size and double quantization. */
    public boolean sameSettings(Quantizer quantizer) {
        return quantType.equals(quantizer.type().id())
                && blocksize == quantizer.blocksize()
                && doubleQuant == quantizer.doubleQuant();
    }

    /** The settings in words, for messages. */
    public String settings() {
        return quantType + (blocksize > 0 ? " blocksize " + blocksize : "") + (doubleQuant ? " double-quant" : "");
    }

    public byte[] toJson() {
        try {
            return (JSON.writeValueAsString(this) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The marker of the model directory {@code dir} (a lake URI or local path), or empty when it has none. */
    public static Optional<QuantizedModelMarker> read(LakeFs fs, String dir) {
        String path = dir + "/" + FILE;
        if (!fs.exists(path)) return Optional.empty();
        byte[] bytes = fs.readJson(path);
        try {
            QuantizedModelMarker m = JSON.readValue(bytes, QuantizedModelMarker.class);
            if (m.sourceSha256() == null || m.quantType() == null) {
                throw new IllegalArgumentException("marker " + path + " lacks source_sha256 or quant_type");
            }
            return Optional.of(m);
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "quantized model marker " + path + " is not valid (" + e.getMessage()
                            + "). Fix: delete the directory " + dir + " and run job 00 (quantize-base) again",
                    e);
        }
    }
}
