package io.lakelora.kernel.cuda;

import java.nio.file.Path;

/**
 * A device for the tests of the CUDA host logic: the {@link FakeCudaApi} (1 GiB), its kernels loaded through a
 * {@link CubinCache} in {@code cacheDir}, and small helpers that copy arrays in and out.
 */
final class TestDevice implements AutoCloseable {
    final FakeCudaApi api;
    final DeviceOps ops;

    TestDevice(Path cacheDir) {
        this.api = new FakeCudaApi(1L << 30);
        this.ops = new DeviceOps(api, CudaModules.load(api, new CubinCache(cacheDir)));
    }

    long floats(float[] v) {
        long p = api.malloc(4L * Math.max(1, v.length));
        api.copyToDevice(p, v, 0, v.length);
        return p;
    }

    long zeros(long n) {
        long p = api.malloc(4L * Math.max(1, n));
        api.memset(p, 0, 4L * Math.max(1, n));
        return p;
    }

    long ints(int[] v) {
        long p = api.malloc(4L * Math.max(1, v.length));
        api.copyToDevice(p, v, 0, v.length);
        return p;
    }

    float[] read(long p, int n) {
        float[] v = new float[n];
        api.copyToHost(v, 0, n, p);
        return v;
    }

    @Override
    public void close() {
        api.close();
    }
}
