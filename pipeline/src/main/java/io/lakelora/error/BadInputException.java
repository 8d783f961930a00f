package io.lakelora.error;

/**
 * Bad input data (a corrupt model file, a malformed dataset row, a missing tokenizer): an
 * {@link IllegalArgumentException} that maps to {@link ExitCodes#BAD_INPUT}. The message names the input, what was
 * expected, what was found and the fix.
 */
public class BadInputException extends IllegalArgumentException {
    public BadInputException(String message) {
        super(message);
    }

    public BadInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
