package io.lakelora.udfs;

import io.lakelora.text.ChatMessage;
import io.lakelora.text.PiiScrubber;
import io.lakelora.text.TextNormalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.api.java.UDF4;
import org.apache.spark.sql.types.DataTypes;

/**
 * LakeLoRA's Spark SQL functions, registered by one call, {@link #register(SparkSession)}:
 * <ul>
 *   <li>{@code normalize_text(text)}: NFKC, control characters, whitespace ({@link TextNormalizer} defaults);</li>
 *   <li>{@code scrub_pii(text)}: e-mail, card (Luhn), IPv6, IPv4, phone replaced by placeholders ({@link PiiScrubber});</li>
 *   <li>{@code token_count(text, tokenizer_path)}: number of tokens as the model sees the text (with BOS/EOS as its
 *       tokenizer adds them);</li>
 *   <li>{@code apply_chat_template(messages, tokenizer_path, fallback_template, add_generation_prompt)}: the model's
 *       chat template (or the named built-in fallback when it has none) applied to {@code array<struct<role,
 *       content>>};</li>
 *   <li>{@code tokenize(text, tokenizer_path)}: token ids ({@code array<int>}), special tokens added as the tokenizer
 *       does.</li>
 * </ul>
 * Nulls in give null out. Tokenizers are loaded once per executor JVM ({@link SharedTokenizers}).
 */
public final class LakeLoraUdfs {
    public static final List<String> NAMES =
            List.of("normalize_text", "scrub_pii", "token_count", "apply_chat_template", "tokenize");

    private LakeLoraUdfs() {}

    public static void register(SparkSession spark) {
        TextNormalizer normalizer = TextNormalizer.defaults();
        PiiScrubber pii = PiiScrubber.defaults();
        spark.udf().register("normalize_text", (UDF1<String, String>) normalizer::normalize, DataTypes.StringType);
        spark.udf()
                .register(
                        "scrub_pii",
                        (UDF1<String, String>)
                                t -> t == null ? null : pii.scrub(t).text(),
                        DataTypes.StringType);
        spark.udf()
                .register(
                        "token_count",
                        (UDF2<String, String, Integer>) (t, path) ->
                                t == null ? null : SharedTokenizers.get(path).encode(t, true).length,
                        DataTypes.IntegerType);
        spark.udf()
                .register(
                        "tokenize",
                        (UDF2<String, String, int[]>) (t, path) ->
                                t == null ? null : SharedTokenizers.get(path).encode(t, true),
                        DataTypes.createArrayType(DataTypes.IntegerType, false));
        spark.udf()
                .register(
                        "apply_chat_template",
                        (UDF4<scala.collection.Seq<Row>, String, String, Boolean, String>)
                                LakeLoraUdfs::applyChatTemplate,
                        DataTypes.StringType);
    }

    static String applyChatTemplate(scala.collection.Seq<Row> messages, String path, String fallback, Boolean agp) {
        if (messages == null) return null;
        List<ChatMessage> conv = new ArrayList<>(messages.size());
        for (Row m : scala.jdk.javaapi.CollectionConverters.asJava(messages)) {
            conv.add(new ChatMessage(m.getAs("role"), m.getAs("content")));
        }
        var tok = SharedTokenizers.get(path);
        Map<String, String> special = io.lakelora.text.ChatTemplate.specialTokens(
                tok.bosToken(), tok.eosToken(), tok.tokenId("<unk>") >= 0 ? "<unk>" : null, tok.padToken());
        return SharedTokenizers.template(path, null, fallback).render(conv, agp != null && agp, special);
    }
}
