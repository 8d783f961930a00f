package io.lakelora.kernel;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * The helper threads of one {@link VectorKernels}: job {@code 0} of a {@link #run} runs on the calling thread, jobs
 * {@code 1..} on the helpers, and the call returns when all are done.
 *
 * <p>Why not an {@code ExecutorService}: waking a parked pool thread takes longer than the short parallel sections
 * (norms, SwiGLU, RoPE) it would halve. Here a helper that finished a job spins ({@link Thread#onSpinWait}) for up to
 * {@code spinNanos} watching for the next one, and only then parks; a training step's parallel sections follow each
 * other within that window. Like OpenMP's default wait policy, a spinning helper holds its core for at most
 * {@code spinNanos} after the last job. Measured alternatives: docs/kernels.md.
 *
 * <p>Hand-off without locks: the caller writes a helper's {@code job} then reads its {@code parked}; the helper
 * writes {@code parked} then reads {@code job} (all volatile), so either the caller sees the helper parked and unparks
 * it, or the helper sees the job and does not park. A helper clears {@code job} after the work (and after recording a
 * failure): the caller reading it null sees everything the job wrote.
 *
 * <p>One caller at a time: a second thread calling {@link #run} while the team is in use runs all its jobs itself
 * (same results: jobs never depend on which thread runs them).
 */
final class WorkerTeam {
    /** Helper threads: work started on one of them runs single-threaded (nothing waits on its own team). */
    static final class Helper extends Thread {
        private final long spinNanos;
        volatile Runnable job;
        volatile boolean parked;
        volatile Throwable failure;

        Helper(String name, long spinNanos) {
            super(name);
            this.spinNanos = spinNanos;
            setDaemon(true);
        }

        @Override
        public void run() {
            long idleSince = System.nanoTime();
            while (true) {
                Runnable j = job;
                if (j != null) {
                    try {
                        j.run();
                    } catch (Throwable t) {
                        failure = t;
                    }
                    job = null; // publishes the job's writes (and the failure) to the caller
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < spinNanos) {
                    Thread.onSpinWait();
                } else {
                    parked = true;
                    if (job == null) LockSupport.park(this);
                    parked = false;
                    idleSince = System.nanoTime();
                }
            }
        }
    }

    private final Helper[] helpers;
    private final AtomicBoolean busy = new AtomicBoolean();

    /**
     * @param helpers   helper threads (started now)
     * @param spinNanos how long an idle helper spins before it parks
     */
    WorkerTeam(int helpers, long spinNanos, String name) {
        this.helpers = new Helper[helpers];
        for (int i = 0; i < helpers; i++) {
            this.helpers[i] = new Helper(name + "-" + (i + 1), spinNanos);
            this.helpers[i].start();
        }
    }

    int helpers() {
        return helpers.length;
    }

    /**
     * Runs {@code jobs[0]} here and {@code jobs[i]} on helper {@code i - 1} ({@code jobs.length <= helpers() + 1}),
     * returning when all have finished, even after a failure; then rethrows the first failure (this thread's first).
     */
    void run(Runnable[] jobs) {
        if (jobs.length - 1 > helpers.length) {
            throw new IllegalArgumentException(jobs.length + " jobs for a team of " + helpers.length + " helpers + 1");
        }
        if (jobs.length == 1 || !busy.compareAndSet(false, true)) {
            Throwable failure = null;
            for (Runnable j : jobs) {
                try {
                    j.run();
                } catch (RuntimeException | Error e) {
                    if (failure == null) failure = e;
                }
            }
            rethrow(failure);
            return;
        }
        try {
            for (int i = 1; i < jobs.length; i++) {
                Helper h = helpers[i - 1];
                h.failure = null;
                h.job = jobs[i];
                if (h.parked) LockSupport.unpark(h);
            }
            Throwable failure = null;
            try {
                jobs[0].run();
            } catch (RuntimeException | Error e) {
                failure = e;
            }
            for (int i = 1; i < jobs.length; i++) {
                Helper h = helpers[i - 1];
                int spins = 0;
                while (h.job != null) {
                    // the helper's part is still running: spin, and give the CPU away now and then in case the
                    // helper shares this core (an oversubscribed machine)
                    if (++spins % 1024 == 0) Thread.yield();
                    else Thread.onSpinWait();
                }
                if (failure == null) failure = h.failure;
            }
            rethrow(failure);
        } finally {
            busy.set(false);
        }
    }

    private static void rethrow(Throwable failure) {
        if (failure instanceof RuntimeException re) throw re;
        if (failure instanceof Error er) throw er;
        if (failure != null) throw new IllegalStateException("kernel worker failed", failure);
    }
}
