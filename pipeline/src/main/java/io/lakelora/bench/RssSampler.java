package io.lakelora.bench;

/**
 * Samples this process's anonymous and total resident memory ({@code RssAnon}, {@code VmRSS} of /proc/self/status)
 * every {@code periodMs} on a daemon thread and keeps the peaks: the kernel keeps a peak only for the total
 * ({@code VmHWM}), and the total of a process that streams a file through a memory map includes the file's pages.
 */
public final class RssSampler implements AutoCloseable {
    private final Thread thread;
    private volatile boolean stop;
    private volatile long peakAnonKb = -1;
    private volatile long peakRssKb = -1;

    public RssSampler(long periodMs) {
        thread = new Thread(
                () -> {
                    while (!stop) {
                        sample();
                        try {
                            Thread.sleep(periodMs);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                },
                "lakelora-rss-sampler");
        thread.setDaemon(true);
        thread.start();
    }

    /** Takes a sample now (also called by the thread). */
    public synchronized void sample() {
        long anon = ProcStatus.kb("RssAnon");
        long rss = ProcStatus.kb("VmRSS");
        if (anon > peakAnonKb) peakAnonKb = anon;
        if (rss > peakRssKb) peakRssKb = rss;
    }

    /** The largest RssAnon sampled, in MB, or null where /proc is not available. */
    public Long peakAnonMb() {
        return peakAnonKb < 0 ? null : peakAnonKb / 1024;
    }

    /** The largest VmRSS sampled, in MB, or null. */
    public Long peakRssMb() {
        return peakRssKb < 0 ? null : peakRssKb / 1024;
    }

    @Override
    public void close() {
        stop = true;
        thread.interrupt();
        sample();
    }
}
