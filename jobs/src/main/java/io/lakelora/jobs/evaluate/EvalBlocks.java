package io.lakelora.jobs.evaluate;

import static org.apache.spark.sql.functions.col;

import io.lakelora.jobs.common.Delta;
import io.lakelora.jobs.common.Schemas;
import io.lakelora.jobs.runtime.TokenBlock;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;

/**
 * Reads one split of a {@code token_blocks} Delta table (job 02) at a pinned version as the {@link TokenBlock}s the
 * distributed loss takes: indices 0..N-1 in block_id order, so the same table version always gives the same blocks.
 */
public final class EvalBlocks {
    static final List<Schemas.Column> REQUIRED = List.of(
            Schemas.col("block_id", DataTypes.StringType),
            Schemas.col("split", DataTypes.StringType),
            Schemas.col("input_ids", DataTypes.createArrayType(DataTypes.IntegerType)),
            Schemas.col("labels", DataTypes.createArrayType(DataTypes.IntegerType)),
            Schemas.col("position_ids", DataTypes.createArrayType(DataTypes.IntegerType)));

    private EvalBlocks() {}

    /**
     * The blocks of {@code split} in {@code table} at {@code version}, the first {@code maxBlocks} by block_id
     * (0: all), in {@code partitions} partitions. The input schema is checked first.
     */
    public static JavaRDD<TokenBlock> read(
            SparkSession spark, String table, long version, String split, int maxBlocks, int partitions) {
        if (!Delta.exists(spark, table)) {
            throw new IllegalArgumentException("dataset table " + table + " is not a Delta table. Fix: run job 02 "
                    + "(tokenize-pack) on this lake first, or set data.table to a token_blocks table");
        }
        long latest = Delta.version(spark, table);
        if (version > latest) {
            throw new IllegalArgumentException("dataset table " + table + " has no version " + version + " (latest is "
                    + latest + "). Fix: set data.version to an existing version, or null for the recorded one");
        }
        Dataset<Row> t =
                spark.read().format("delta").option("versionAsOf", version).load(table);
        Schemas.require(t.schema(), table + " (version " + version + ")", REQUIRED);
        Dataset<Row> rows = t.where(col("split").equalTo(split))
                .select("block_id", "input_ids", "labels", "position_ids")
                .orderBy("block_id");
        if (maxBlocks > 0) rows = rows.limit(maxBlocks);
        return rows.javaRDD()
                .zipWithIndex()
                .map(p -> toBlock(p._1(), Math.toIntExact(p._2())))
                .repartition(partitions);
    }

    static TokenBlock toBlock(Row r, int index) {
        return new TokenBlock(index, ints(r, 1), ints(r, 2), r.isNullAt(3) ? null : ints(r, 3));
    }

    private static int[] ints(Row r, int i) {
        List<Integer> l = r.getList(i);
        int[] a = new int[l.size()];
        for (int k = 0; k < a.length; k++) a[k] = l.get(k);
        return a;
    }
}
