package io.lakelora.kernel.cuda;

/**
 * A CUDA, cuBLAS or NVRTC call failed: the message names the call, the status code and its name. An
 * {@link IllegalStateException}: the device or its libraries are in a state the call cannot run in.
 */
public class CudaException extends IllegalStateException {
    private final int status;

    public CudaException(String call, int status, String statusName) {
        super(call + " failed: " + statusName + " (" + status + ")");
        this.status = status;
    }

    public CudaException(String message) {
        super(message);
        this.status = -1;
    }

    /** The status code the call returned (-1 when none applies). */
    public int status() {
        return status;
    }
}
