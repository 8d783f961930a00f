package io.lakelora.error;

/** Process exit codes of {@code bin/lakelora} and of every job main (documented in the README). */
public final class ExitCodes {
    private ExitCodes() {}

    public static final int OK = 0;
    /** A bug or an unexpected failure (stack trace printed). */
    public static final int INTERNAL = 1;
    /** Bad command line or bad configuration (unknown key, wrong type, missing option). Fix the call. */
    public static final int BAD_CONFIG = 2;
    /** Bad input data (corrupt model file, malformed dataset, missing tokenizer). Fix the input. */
    public static final int BAD_INPUT = 3;
    /** Infrastructure failure (I/O, storage, cluster). Usually worth a retry. */
    public static final int INFRASTRUCTURE = 4;
}
