package io.lakelora.jobs.quantize;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.lakelora.jobs.common.CommonConfig;
import io.lakelora.quant.QuantType;
import io.lakelora.quant.Quantizer;
import java.io.Serializable;

/** Config of job 00 quantize base ({@code conf/00_quantize_base.yaml}). */
public class QuantizeConfig extends CommonConfig {
    private static final long serialVersionUID = 1L;

    @JsonProperty("model")
    public Model model = new Model();

    @JsonProperty("quant")
    public Quant quant = new Quant();

    @JsonProperty("output")
    public Output output = new Output();

    /** The fp32/fp16/bf16 base model. */
    public static class Model implements Serializable {
        private static final long serialVersionUID = 1L;
        /** Model directory in Hugging Face layout: a local path or a lake URI (s3a://..., abfss://..., dbfs:/...). */
        @JsonProperty("path")
        public String path;
        /** Name of the model in the lake ({@code <lake>/models/<id>-<quant>}); null: the directory's name. */
        @JsonProperty("id")
        public String id;
    }

    /** How to quantize (bitsandbytes' formats; QLoRA's recipe by default). */
    public static class Quant implements Serializable {
        private static final long serialVersionUID = 1L;
        /** nf4 (QLoRA), fp4 or int8. */
        @JsonProperty("type")
        public String type = "nf4";
        /** 4-bit block size: a power of two in 32..4096 (ignored for int8). */
        @JsonProperty("blocksize")
        public int blocksize = Quantizer.DEFAULT_BLOCKSIZE;
        /** Quantize the absmax values too (4-bit only; 4.127 instead of 4.5 bits per parameter). */
        @JsonProperty("double_quant")
        public boolean doubleQuant = true;
    }

    /** Where the quantized model goes. */
    public static class Output implements Serializable {
        private static final long serialVersionUID = 1L;
        /** Target directory (local path or lake URI); null: {@code <lake.root>/models/<model.id>-<quant.type>}. */
        @JsonProperty("path")
        public String path;
        /**
         * Replace an output that holds a quantization of another source or with other settings (false: that is an
         * error, so adapters trained on the old base keep their base).
         */
        @JsonProperty("overwrite")
        public boolean overwrite = false;
        /** Local scratch directory (a copy of a remote source, the quantized files before upload); null: java.io.tmpdir. */
        @JsonProperty("local_dir")
        public String localDir;
    }

    /** The quantizer these settings describe; errors name the config key. */
    public Quantizer quantizer() {
        QuantType t;
        try {
            t = QuantType.parse(quant.type);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("config key 'quant.type': " + e.getMessage(), e);
        }
        try {
            return new Quantizer(t, quant.blocksize, quant.doubleQuant);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "config keys 'quant.*' (type " + quant.type + ", blocksize " + quant.blocksize + ", double_quant "
                            + quant.doubleQuant + "): " + e.getMessage(),
                    e);
        }
    }

    public void validate() {
        validateCommon();
        if (model.path == null || model.path.isBlank()) {
            throw new IllegalArgumentException(
                    "config key 'model.path' is empty. Fix: point it at the base model "
                            + "directory in Hugging Face layout (config.json, model.safetensors, tokenizer.json), local or in the lake");
        }
        if (model.id != null && !model.id.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,127}")) {
            throw new IllegalArgumentException("config key 'model.id' is '" + model.id + "': expected letters, digits, "
                    + "'.', '_' or '-' (it names a lake directory)");
        }
        quantizer();
    }
}
