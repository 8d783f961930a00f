package io.lakelora.jobs.prepare;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lakelora.jobs.common.Schemas;
import io.lakelora.text.ChatMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Maps a raw row to a document by its input's column mapping and checks every field's presence and JSON type; a
 * row that does not fit gets a quarantine {@code reason} (and a {@code detail} naming the field). Output schema
 * {@link #EXTRACTED}: the raw columns plus {@code kind} (text | instruction | chat) and the document fields.
 */
public final class RowExtractor implements MapFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    public static final StructType EXTRACTED = new StructType()
            .add("source", DataTypes.StringType, false)
            .add("source_file", DataTypes.StringType, false)
            .add("source_row", DataTypes.LongType, false)
            .add("source_format", DataTypes.StringType, false)
            .add("raw", DataTypes.StringType, true)
            .add("kind", DataTypes.StringType, true)
            .add("text", DataTypes.StringType, true)
            .add("instruction", DataTypes.StringType, true)
            .add("input", DataTypes.StringType, true)
            .add("output", DataTypes.StringType, true)
            .add("messages", Schemas.MESSAGES, true)
            .add("reason", DataTypes.StringType, true)
            .add("detail", DataTypes.StringType, true);

    /** Quarantine reasons produced here (besides the reader's invalid_utf8, row_too_large, malformed_json). */
    public static final String NOT_AN_OBJECT = "not_an_object";

    public static final String MISSING_FIELD = "missing_field";
    public static final String NULL_FIELD = "null_field";
    public static final String WRONG_TYPE = "wrong_type";
    public static final String MISSING_ROLE = "missing_role";
    public static final String UNKNOWN_ROLE = "unknown_role";
    public static final String NO_MESSAGES = "no_messages";
    public static final String NO_ASSISTANT_TURN = "no_assistant_turn";

    private final Map<String, PrepareConfig.Input> inputs;

    public RowExtractor(Map<String, PrepareConfig.Input> inputs) {
        this.inputs = inputs;
    }

    /** A field problem: becomes (reason, detail). */
    private static final class Reject extends Exception {
        final String reason;

        Reject(String reason, String detail) {
            super(detail, null, false, false);
            this.reason = reason;
        }
    }

    @Override
    public Row call(Row r) {
        String source = r.getString(0);
        String raw = r.getString(4);
        String readError = r.getString(5);
        Object[] v = new Object[EXTRACTED.size()];
        for (int i = 0; i < 5; i++) v[i] = r.get(i);
        if (readError != null) {
            v[11] = readError;
            v[12] = r.getString(6);
            return RowFactory.create(v);
        }
        PrepareConfig.Input in = inputs.get(source);
        try {
            if (in.format.equals("text")) {
                v[5] = "text";
                v[6] = raw;
                return RowFactory.create(v);
            }
            JsonNode row;
            try {
                row = JSON.readTree(raw);
            } catch (JsonProcessingException e) {
                throw new Reject(CorpusReader.MALFORMED_JSON, e.getOriginalMessage());
            }
            if (row == null || !row.isObject()) {
                throw new Reject(
                        NOT_AN_OBJECT,
                        "expected a JSON object, found " + (row == null ? "nothing" : row.getNodeType()));
            }
            PrepareConfig.Columns c = in.columns;
            switch (in.shape) {
                case "text" -> {
                    v[5] = "text";
                    v[6] = string(row, c.text, true);
                }
                case "alpaca" -> {
                    v[5] = "instruction";
                    v[7] = string(row, c.instruction, true);
                    String input = string(row, c.input, false);
                    v[8] = input == null ? "" : input;
                    v[9] = string(row, c.output, true);
                }
                case "chat" -> {
                    v[5] = "chat";
                    v[10] = scala.jdk.javaapi.CollectionConverters.asScala(messages(row, c))
                            .toSeq(); // Row encoders take Seqs
                }
                default -> throw new IllegalStateException(in.shape);
            }
        } catch (Reject e) {
            v[5] = null;
            v[6] = v[7] = v[8] = v[9] = v[10] = null;
            v[11] = e.reason;
            v[12] = e.getMessage();
        }
        return RowFactory.create(v);
    }

    /** The node at a path such as {@code a.b[0].c}, or null when a step is missing. */
    static JsonNode at(JsonNode root, String path) {
        JsonNode n = root;
        for (String step : path.split("\\.")) {
            String name = step;
            List<Integer> idx = new ArrayList<>();
            int b = step.indexOf('[');
            if (b >= 0) {
                name = step.substring(0, b);
                for (String part : step.substring(b + 1).split("\\[")) {
                    idx.add(Integer.parseInt(part.replace("]", "").trim()));
                }
            }
            if (!name.isEmpty()) {
                if (n == null || !n.isObject() || !n.has(name)) return null;
                n = n.get(name);
            }
            for (int i : idx) {
                if (n == null || !n.isArray() || i >= n.size()) return null;
                n = n.get(i);
            }
        }
        return n;
    }

    private static String string(JsonNode row, String path, boolean required) throws Reject {
        JsonNode n = at(row, path);
        if (n == null) {
            if (!required) return null;
            throw new Reject(MISSING_FIELD, "field '" + path + "' is missing");
        }
        if (n.isNull()) {
            if (!required) return null;
            throw new Reject(NULL_FIELD, "field '" + path + "' is null");
        }
        if (!n.isTextual()) {
            throw new Reject(
                    WRONG_TYPE,
                    "field '" + path + "' is " + n.getNodeType().toString().toLowerCase() + ", expected a string");
        }
        return n.asText();
    }

    private static List<Row> messages(JsonNode row, PrepareConfig.Columns c) throws Reject {
        JsonNode arr = at(row, c.messages);
        if (arr == null) throw new Reject(MISSING_FIELD, "field '" + c.messages + "' is missing");
        if (arr.isNull()) throw new Reject(NULL_FIELD, "field '" + c.messages + "' is null");
        if (!arr.isArray()) {
            throw new Reject(
                    WRONG_TYPE,
                    "field '" + c.messages + "' is "
                            + arr.getNodeType().toString().toLowerCase() + ", expected a list of {" + c.role + ", "
                            + c.content + "}");
        }
        if (arr.isEmpty()) throw new Reject(NO_MESSAGES, "field '" + c.messages + "' is an empty list");
        List<Row> out = new ArrayList<>();
        boolean assistant = false;
        for (int i = 0; i < arr.size(); i++) {
            JsonNode m = arr.get(i);
            String where = c.messages + "[" + i + "]";
            if (!m.isObject()) throw new Reject(WRONG_TYPE, "'" + where + "' is not an object");
            JsonNode role = m.get(c.role);
            if (role == null || role.isNull())
                throw new Reject(MISSING_ROLE, "'" + where + "' has no '" + c.role + "'");
            if (!role.isTextual()) throw new Reject(WRONG_TYPE, "'" + where + "." + c.role + "' is not a string");
            String r = c.roleMap.getOrDefault(role.asText(), role.asText());
            if (!ChatMessage.ROLES.contains(r)) {
                throw new Reject(
                        UNKNOWN_ROLE,
                        "'" + where + "." + c.role + "' is '" + role.asText() + "', expected one of "
                                + ChatMessage.ROLES + " (or map it with columns.role_map)");
            }
            JsonNode content = m.get(c.content);
            if (content == null) throw new Reject(MISSING_FIELD, "'" + where + "' has no '" + c.content + "'");
            if (content.isNull()) throw new Reject(NULL_FIELD, "'" + where + "." + c.content + "' is null");
            if (!content.isTextual()) {
                throw new Reject(
                        WRONG_TYPE,
                        "'" + where + "." + c.content + "' is "
                                + content.getNodeType().toString().toLowerCase() + ", expected a string");
            }
            assistant |= r.equals("assistant");
            out.add(RowFactory.create(r, content.asText()));
        }
        if (!assistant) throw new Reject(NO_ASSISTANT_TURN, "no message has role assistant");
        return out;
    }
}
