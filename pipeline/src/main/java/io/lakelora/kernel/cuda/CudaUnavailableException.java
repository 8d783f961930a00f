package io.lakelora.kernel.cuda;

/**
 * CUDA was asked for but cannot run here: a library is missing or no device is visible. The message lists what is
 * missing, where it was looked for, and the fix.
 */
public class CudaUnavailableException extends CudaException {
    public CudaUnavailableException(String message) {
        super(message);
    }
}
