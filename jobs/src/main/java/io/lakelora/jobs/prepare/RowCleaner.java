package io.lakelora.jobs.prepare;

import io.lakelora.text.ChatMessage;
import io.lakelora.text.DocumentHash;
import io.lakelora.text.PiiScrubber;
import io.lakelora.text.QualityFilters;
import io.lakelora.text.TextNormalizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Cleans an extracted document: normalizes every text field ({@link TextNormalizer}), scrubs PII
 * ({@link PiiScrubber}, counts per kind), applies the quality filters ({@link QualityFilters}) to the document's flat
 * text, and computes its {@code doc_id} (SHA-256 of the normalized content). Rows already carrying a reason pass
 * through; rows that pass drop {@code raw} (only quarantined rows keep the row as read). Output schema
 * {@link #CLEANED}.
 */
public final class RowCleaner implements MapFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    public static final String EMPTY_TURN = "empty_turn";

    public static final StructType CLEANED = RowExtractor.EXTRACTED
            .add("doc_id", DataTypes.StringType, true)
            .add("flat_text", DataTypes.StringType, true)
            .add("char_count", DataTypes.IntegerType, true)
            .add("pii_counts", DataTypes.createMapType(DataTypes.StringType, DataTypes.IntegerType, true), true);

    private final TextNormalizer normalizer;
    private final PiiScrubber pii;
    private final QualityFilters filters;

    public RowCleaner(TextNormalizer.Options normalize, PiiScrubber.Options pii, QualityFilters.Options filters) {
        this.normalizer = new TextNormalizer(normalize);
        this.pii = new PiiScrubber(pii);
        this.filters = new QualityFilters(filters);
    }

    @Override
    public Row call(Row r) {
        Object[] v = new Object[CLEANED.size()];
        for (int i = 0; i < RowExtractor.EXTRACTED.size(); i++) v[i] = r.get(i);
        if (r.getString(11) != null) return RowFactory.create(v);
        Map<String, Integer> counts = new LinkedHashMap<>();
        String kind = r.getString(5);
        String flat;
        String docId;
        String reason = null;
        switch (kind) {
            case "text" -> {
                String t = clean(r.getString(6), counts);
                v[6] = t;
                flat = t;
                docId = DocumentHash.sha256Hex(t);
            }
            case "instruction" -> {
                String ins = clean(r.getString(7), counts);
                String inp = clean(r.getString(8), counts);
                String out = clean(r.getString(9), counts);
                v[7] = ins;
                v[8] = inp;
                v[9] = out;
                flat = inp.isEmpty() ? ins + "\n" + out : ins + "\n" + inp + "\n" + out;
                if (ins.isBlank() || out.isBlank()) reason = EMPTY_TURN;
                docId = DocumentHash.conversationId(ChatMessage.fromInstruction(ins, inp, out));
            }
            case "chat" -> {
                List<Row> msgs = r.getList(10);
                List<Row> cleaned = new ArrayList<>(msgs.size());
                List<ChatMessage> conv = new ArrayList<>(msgs.size());
                StringBuilder sb = new StringBuilder();
                for (Row m : msgs) {
                    String role = m.getString(0);
                    String content = clean(m.getString(1), counts);
                    if (content.isBlank() && !role.equals("system")) reason = EMPTY_TURN;
                    cleaned.add(RowFactory.create(role, content));
                    conv.add(new ChatMessage(role, content));
                    if (sb.length() > 0) sb.append('\n');
                    sb.append(content);
                }
                v[10] = scala.jdk.javaapi.CollectionConverters.asScala(cleaned).toSeq();
                flat = sb.toString();
                docId = DocumentHash.conversationId(conv);
            }
            default -> throw new IllegalStateException("kind " + kind);
        }
        if (reason == null) reason = filters.check(flat);
        v[11] = reason;
        v[12] = reason == null ? null : "after cleaning: " + flat.length() + " characters";
        if (reason == null) v[4] = null; // the row as read is kept for quarantined rows only
        v[13] = docId;
        v[14] = flat;
        v[15] = flat.length();
        v[16] = scala.jdk.javaapi.CollectionConverters.asScala(counts); // Row encoders take Scala maps
        return RowFactory.create(v);
    }

    private String clean(String s, Map<String, Integer> counts) {
        String n = normalizer.normalize(s == null ? "" : s);
        PiiScrubber.Result res = pii.scrub(n);
        res.counts().forEach((k, c) -> counts.merge(k, c, Integer::sum));
        return res.text();
    }
}
