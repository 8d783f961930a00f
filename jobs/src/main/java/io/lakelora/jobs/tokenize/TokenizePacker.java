package io.lakelora.jobs.tokenize;

import io.lakelora.text.ChatMessage;
import io.lakelora.text.ChatTemplate;
import io.lakelora.text.DocumentHash;
import io.lakelora.text.ExampleEncoder;
import io.lakelora.text.Packing;
import io.lakelora.udfs.SharedTokenizers;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Per partition: encodes every document with the executor's shared tokenizer ({@link SharedTokenizers}), then packs
 * each split's documents into blocks ({@link Packing}). Emits one row per block and one per rejected document, in
 * the union schema {@link #OUT} ({@code record} = "block" | "rejected"). Input rows must be sorted by (split, doc_id)
 * within the partition for the packing to be deterministic.
 */
final class TokenizePacker implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    static final StructType SEGMENT = new StructType()
            .add("doc_id", DataTypes.StringType, true)
            .add("piece", DataTypes.IntegerType, true)
            .add("start", DataTypes.IntegerType, true)
            .add("length", DataTypes.IntegerType, true);

    static final StructType OUT = new StructType()
            .add("record", DataTypes.StringType, false)
            .add("block_id", DataTypes.StringType, true)
            .add("split", DataTypes.StringType, true)
            .add("input_ids", DataTypes.createArrayType(DataTypes.IntegerType, true), true)
            .add("labels", DataTypes.createArrayType(DataTypes.IntegerType, true), true)
            .add("position_ids", DataTypes.createArrayType(DataTypes.IntegerType, true), true)
            .add("doc_boundaries", DataTypes.createArrayType(DataTypes.IntegerType, true), true)
            .add("segments", DataTypes.createArrayType(SEGMENT, true), true)
            .add("n_tokens", DataTypes.IntegerType, true)
            .add("n_trained", DataTypes.IntegerType, true)
            .add("doc_id", DataTypes.StringType, true)
            .add("reason", DataTypes.StringType, true)
            .add("detail", DataTypes.StringType, true)
            .add("mask_mode", DataTypes.StringType, true);

    static final String TEMPLATE_ERROR = "chat_template_error";
    static final String EMPTY = "no_tokens";
    static final String TOO_LONG = "longer_than_block";

    private final TokenizeConfig cfg;

    TokenizePacker(TokenizeConfig cfg) {
        this.cfg = cfg;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        String tokenizer = io.lakelora.jobs.lake.LakeFs.local(cfg.model.tokenizer, null);
        ExampleEncoder enc = SharedTokenizers.encoder(
                tokenizer, cfg.template.override, cfg.template.fallback, cfg.template.trainOnInputs);
        int pad = ExampleEncoder.padId(SharedTokenizers.get(tokenizer), cfg.pack.padTokenId);
        Map<String, List<Packing.Doc>> bySplit = new LinkedHashMap<>();
        Map<String, String> maskModes = new LinkedHashMap<>();
        List<Row> out = new ArrayList<>();
        while (rows.hasNext()) {
            Row r = rows.next();
            String docId = r.getAs("doc_id");
            String split = r.getAs("split");
            ExampleEncoder.Encoded e;
            try {
                e = encode(enc, r);
            } catch (ChatTemplate.TemplateException ex) {
                out.add(rejected(docId, TEMPLATE_ERROR, ex.getMessage(), 0));
                continue;
            }
            if (e.inputIds().length == 0) {
                out.add(rejected(docId, EMPTY, "the tokenizer produced no tokens", 0));
                continue;
            }
            maskModes.put(docId, e.maskMode());
            bySplit.computeIfAbsent(split, k -> new ArrayList<>())
                    .add(new Packing.Doc(docId, e.inputIds(), e.labels()));
        }
        Packing.Strategy strategy = Packing.Strategy.parse(cfg.pack.strategy);
        Packing.Overflow overflow = Packing.Overflow.parse(cfg.pack.overflow);
        for (Map.Entry<String, List<Packing.Doc>> s : bySplit.entrySet()) {
            Packing.Result res = Packing.pack(s.getValue(), cfg.pack.blockSize, pad, strategy, overflow);
            for (Packing.Doc d : res.rejected()) {
                out.add(rejected(
                        d.id(),
                        TOO_LONG,
                        d.length() + " tokens > pack.block_size " + cfg.pack.blockSize + " (pack.overflow: quarantine)",
                        d.length()));
            }
            for (Packing.Block b : res.blocks()) out.add(block(s.getKey(), b, maskModes));
        }
        return out.iterator();
    }

    private static ExampleEncoder.Encoded encode(ExampleEncoder enc, Row r) {
        String kind = r.getAs("kind");
        switch (kind) {
            case "text":
                return enc.encodeText(r.getAs("text"));
            case "instruction":
                return enc.encodeChat(
                        ChatMessage.fromInstruction(r.getAs("instruction"), r.getAs("input"), r.getAs("output")));
            case "chat": {
                List<Row> msgs = r.getList(r.fieldIndex("messages"));
                List<ChatMessage> conv = new ArrayList<>(msgs.size());
                for (Row m : msgs) conv.add(new ChatMessage(m.getString(0), m.getString(1)));
                return enc.encodeChat(conv);
            }
            default:
                throw new ChatTemplate.TemplateException("unknown document kind '" + kind + "'");
        }
    }

    private Row block(String split, Packing.Block b, Map<String, String> maskModes) {
        List<Row> segs = new ArrayList<>(b.segments().size());
        int[] bounds = new int[b.segments().size() + 1];
        StringBuilder key = new StringBuilder(split).append('|').append(cfg.pack.blockSize);
        java.util.Set<String> modes = new java.util.TreeSet<>();
        for (int i = 0; i < b.segments().size(); i++) {
            Packing.Segment s = b.segments().get(i);
            segs.add(RowFactory.create(s.docId(), s.piece(), s.start(), s.length()));
            bounds[i] = s.start();
            bounds[i + 1] = s.start() + s.length();
            key.append('|')
                    .append(s.docId())
                    .append(':')
                    .append(s.piece())
                    .append(':')
                    .append(s.start())
                    .append(':')
                    .append(s.length());
            modes.add(maskModes.get(s.docId()));
        }
        return RowFactory.create(
                "block",
                DocumentHash.sha256Hex(key.toString()),
                split,
                b.inputIds(),
                b.labels(),
                b.positionIds(),
                bounds,
                scala.jdk.javaapi.CollectionConverters.asScala(segs).toSeq(),
                b.usedTokens(),
                b.trainedTokens(),
                null,
                null,
                null,
                String.join(",", modes));
    }

    private static Row rejected(String docId, String reason, String detail, int tokens) {
        return RowFactory.create(
                "rejected", null, null, null, null, null, null, null, tokens, 0, docId, reason, detail, null);
    }
}
