package io.lakelora.jobs.common;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** Input schema checks done before any work (as MLlib's {@code transformSchema}): errors name the input and the fix. */
public final class Schemas {
    private Schemas() {}

    /** A chat message in the corpus tables ({@code corpus_clean.messages}): role and content. */
    public static final StructType MESSAGE =
            new StructType().add("role", DataTypes.StringType, true).add("content", DataTypes.StringType, true);
    /** Nullable inside (Delta rejects NOT NULL nested in arrays); job 01 never writes nulls there. */
    public static final ArrayType MESSAGES = DataTypes.createArrayType(MESSAGE, true);

    /** A required column and its type (null: any type). */
    public record Column(String name, DataType type) {}

    public static Column col(String name, DataType type) {
        return new Column(name, type);
    }

    /** Fails unless {@code schema} has every column with a compatible type (nullability ignored). */
    public static void require(StructType schema, String input, List<Column> required) {
        List<String> problems = new ArrayList<>();
        for (Column c : required) {
            StructField f = find(schema, c.name());
            if (f == null) {
                problems.add("missing column '" + c.name() + "'");
            } else if (c.type() != null && !sameIgnoringNullability(f.dataType(), c.type())) {
                problems.add("column '" + c.name() + "' is " + f.dataType().simpleString() + ", expected "
                        + c.type().simpleString());
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("input " + input + ": " + String.join("; ", problems) + ". It has: "
                    + schema.simpleString() + ". Fix: point the job at a table written by the previous job, or map the "
                    + "columns in the config");
        }
    }

    public static StructField find(StructType schema, String name) {
        for (StructField f : schema.fields()) if (f.name().equalsIgnoreCase(name)) return f;
        return null;
    }

    private static boolean sameIgnoringNullability(DataType a, DataType b) {
        return a.simpleString().equals(b.simpleString()); // simpleString leaves nullability out
    }
}
