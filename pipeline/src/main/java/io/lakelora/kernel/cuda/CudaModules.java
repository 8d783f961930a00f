package io.lakelora.kernel.cuda;

import java.util.EnumMap;
import java.util.Map;

/** Every {@link CudaKernel} loaded on one device: the sources' cubins (through a {@link CubinCache}) and their functions. */
public final class CudaModules {
    private final Map<CudaKernel, Long> functions;

    private CudaModules(Map<CudaKernel, Long> functions) {
        this.functions = functions;
    }

    /**
     * Loads every source's cubin from {@code cache} (compiling what is missing); a cached cubin the driver refuses is
     * compiled again once.
     */
    public static CudaModules load(CudaApi api, CubinCache cache) {
        Map<CudaKernel, Long> fns = new EnumMap<>(CudaKernel.class);
        for (String name : CudaSources.names()) {
            long module;
            try {
                module = api.loadModule(cache.cubin(api, name));
            } catch (CudaException e) {
                cache.evict(name, api.device());
                module = api.loadModule(cache.cubin(api, name));
            }
            for (CudaKernel k : CudaSources.kernelsOf(name)) fns.put(k, api.function(module, k.symbol()));
        }
        return new CudaModules(fns);
    }

    /** The function handle of {@code k}. */
    public long function(CudaKernel k) {
        return functions.get(k);
    }
}
