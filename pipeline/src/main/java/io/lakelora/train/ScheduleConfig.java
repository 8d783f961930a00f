package io.lakelora.train;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The {@code schedule:} section: {@code type} constant | linear | cosine, warmup as {@code warmup_steps} (wins when
 * > 0) or {@code warmup_ratio} of the total steps (rounded up, as transformers does). Default: constant with 3% warmup
 * (the QLoRA recipe).
 */
@JsonAutoDetect(
        fieldVisibility = JsonAutoDetect.Visibility.ANY,
        getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE)
public final class ScheduleConfig implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    @JsonProperty("type")
    private final String type;

    @JsonProperty("warmup_steps")
    private final long warmupSteps;

    @JsonProperty("warmup_ratio")
    private final double warmupRatio;

    @JsonCreator
    public ScheduleConfig(
            @JsonProperty("type") String type,
            @JsonProperty("warmup_steps") Long warmupSteps,
            @JsonProperty("warmup_ratio") Double warmupRatio) {
        this.type = type == null ? "constant" : type;
        this.warmupSteps = warmupSteps == null ? 0 : warmupSteps;
        this.warmupRatio = warmupRatio == null ? 0.03 : warmupRatio;
        LrSchedule.Type.parse(this.type);
        LrSchedule.warmupSteps(this.warmupSteps, this.warmupRatio, 1);
    }

    public static ScheduleConfig defaults() {
        return new ScheduleConfig(null, null, null);
    }

    public LrSchedule.Type type() {
        return LrSchedule.Type.parse(type);
    }

    public long warmupSteps() {
        return warmupSteps;
    }

    public double warmupRatio() {
        return warmupRatio;
    }

    /** The schedule for a run of {@code totalSteps} optimizer steps at base rate {@code lr}. */
    public LrSchedule build(double lr, long totalSteps) {
        return new LrSchedule(type(), lr, LrSchedule.warmupSteps(warmupSteps, warmupRatio, totalSteps), totalSteps);
    }
}
