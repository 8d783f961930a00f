package io.lakelora.jobs.tokenize;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.lakelora.jobs.common.CommonConfig;
import io.lakelora.text.ChatTemplate;
import io.lakelora.text.Packing;
import java.io.Serializable;
import java.util.List;

/** Config of job 02 tokenize and pack ({@code conf/02_tokenize_pack.yaml}). */
public class TokenizeConfig extends CommonConfig {
    private static final long serialVersionUID = 1L;

    /**
     * incremental: only corpus_clean versions after the last one this job processed (its change data feed); full: the
     * whole corpus_clean snapshot. Either way documents already in token_blocks or token_quarantine are skipped.
     */
    @JsonProperty("mode")
    public String mode = "incremental";

    @JsonProperty("model")
    public Model model = new Model();

    @JsonProperty("template")
    public Template template = new Template();

    @JsonProperty("pack")
    public Pack pack = new Pack();

    @JsonProperty("split")
    public Split split = new Split();

    public static class Model implements Serializable {
        private static final long serialVersionUID = 1L;
        /**
         * The base model's id in the lake's {@code base_models} table (job 00): its lake copy holds the tokenizer and
         * chat template. Used when {@code tokenizer} is null.
         */
        @JsonProperty("id")
        public String id;
        /**
         * Model directory (tokenizer.json + tokenizer_config.json) or a tokenizer file: a lake URI or a local path
         * (made absolute on the driver; executors copy lake files to their local disk). Null: the lake copy of
         * {@code id}.
         */
        @JsonProperty("tokenizer")
        public String tokenizer;
    }

    public static class Template implements Serializable {
        private static final long serialVersionUID = 1L;
        /** A built-in template to use instead of the model's own (null: the model's). */
        @JsonProperty("override")
        public String override;
        /** The built-in template for models without a chat_template. */
        @JsonProperty("fallback")
        public String fallback = "chatml";
        /** Train on prompt tokens too (default: labels -100 on everything but assistant turns). */
        @JsonProperty("train_on_inputs")
        public boolean trainOnInputs = false;
    }

    public static class Pack implements Serializable {
        private static final long serialVersionUID = 1L;

        @JsonProperty("block_size")
        public int blockSize = 512;
        /** greedy (next-fit in document order) or best_fit_decreasing. */
        @JsonProperty("strategy")
        public String strategy = "best_fit_decreasing";
        /** Documents longer than a block: split into block-sized pieces, or quarantine. */
        @JsonProperty("overflow")
        public String overflow = "split";
        /** Pad id; -1: the tokenizer's pad token, else its unk token. Never an EOS id. */
        @JsonProperty("pad_token_id")
        public int padTokenId = -1;
        /** Packing groups: documents are bucketed by doc_id hash into this many partitions, packed per partition. */
        @JsonProperty("partitions")
        public int partitions = 8;
    }

    public static class Split implements Serializable {
        private static final long serialVersionUID = 1L;

        @JsonProperty("eval_fraction")
        public double evalFraction = 0.05;

        @JsonProperty("seed")
        public long seed = 1234;
    }

    public void validate() {
        validateCommon();
        if (!List.of("incremental", "full").contains(mode)) {
            throw new IllegalArgumentException("config key 'mode' is '" + mode + "', expected incremental or full");
        }
        if ((model.tokenizer == null || model.tokenizer.isBlank()) && (model.id == null || model.id.isBlank())) {
            throw new IllegalArgumentException("config keys 'model.id' and 'model.tokenizer' are both empty. Fix: set "
                    + "model.id to a base model job 00 put in the lake, or model.tokenizer to a model directory "
                    + "(with tokenizer.json) or a tokenizer file");
        }
        if (template.override != null && !ChatTemplate.BUILTINS.contains(template.override)) {
            throw new IllegalArgumentException("config key 'template.override' is '" + template.override
                    + "', expected one of " + ChatTemplate.BUILTINS + " or null");
        }
        if (template.fallback != null && !ChatTemplate.BUILTINS.contains(template.fallback)) {
            throw new IllegalArgumentException("config key 'template.fallback' is '" + template.fallback
                    + "', expected one of " + ChatTemplate.BUILTINS);
        }
        if (pack.blockSize < 2) {
            throw new IllegalArgumentException("config key 'pack.block_size' is " + pack.blockSize + ", expected >= 2");
        }
        Packing.Strategy.parse(pack.strategy);
        Packing.Overflow.parse(pack.overflow);
        if (pack.partitions < 1) throw new IllegalArgumentException("config key 'pack.partitions' must be >= 1");
        if (!(split.evalFraction >= 0 && split.evalFraction < 1)) {
            throw new IllegalArgumentException(
                    "config key 'split.eval_fraction' is " + split.evalFraction + ", expected a fraction in [0, 1)");
        }
    }
}
