package io.lakelora.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class WorkerTeamTest {
    @Test
    void jobsRunOnTheCallerAndTheHelpersAndTheirWritesAreVisible() {
        WorkerTeam team = new WorkerTeam(2, 1_000_000L, "team-test-a");
        for (int round = 0; round < 200; round++) {
            String[] ran = new String[3];
            long[] sums = new long[3];
            Runnable[] jobs = new Runnable[3];
            for (int j = 0; j < 3; j++) {
                int jj = j;
                jobs[j] = () -> {
                    ran[jj] = Thread.currentThread().getName();
                    long s = 0;
                    for (int i = 0; i <= 1000 * (jj + 1); i++) s += i;
                    sums[jj] = s;
                };
            }
            team.run(jobs);
            assertEquals(Thread.currentThread().getName(), ran[0]);
            assertEquals("team-test-a-1", ran[1]);
            assertEquals("team-test-a-2", ran[2]);
            for (int j = 0; j < 3; j++) {
                long n = 1000L * (j + 1);
                assertEquals(n * (n + 1) / 2, sums[j], "job " + j + " round " + round);
            }
        }
    }

    @Test
    void aParkedHelperIsWokenForTheNextJob() throws Exception {
        // spin 0: the helper parks as soon as it is idle; each round must still run on it and complete
        WorkerTeam team = new WorkerTeam(1, 0L, "team-test-b");
        for (int round = 0; round < 50; round++) {
            Thread.sleep(1); // let the helper park
            AtomicReference<String> on = new AtomicReference<>();
            team.run(new Runnable[] {
                () -> {}, () -> on.set(Thread.currentThread().getName())
            });
            assertEquals("team-test-b-1", on.get(), "round " + round);
        }
    }

    @Test
    void aHelpersFailureIsRethrownAfterAllJobsFinished() {
        WorkerTeam team = new WorkerTeam(1, 1_000_000L, "team-test-c");
        boolean[] callerDone = new boolean[1];
        IllegalStateException boom = new IllegalStateException("boom");
        IllegalStateException got = assertThrows(
                IllegalStateException.class,
                () -> team.run(new Runnable[] {
                    () -> callerDone[0] = true,
                    () -> {
                        throw boom;
                    }
                }));
        assertSame(boom, got);
        assertTrue(callerDone[0]);
        // the team is usable afterwards and the old failure does not leak into the next call
        String[] on = new String[1];
        team.run(new Runnable[] {() -> {}, () -> on[0] = Thread.currentThread().getName()});
        assertEquals("team-test-c-1", on[0]);
    }

    @Test
    void aSecondCallerWhileTheTeamIsBusyRunsItsJobsItself() throws Exception {
        WorkerTeam team = new WorkerTeam(1, 1_000_000L, "team-test-d");
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread first = new Thread(() -> team.run(new Runnable[] {
            () -> {
                inside.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            },
            () -> {}
        }));
        first.start();
        assertTrue(inside.await(10, TimeUnit.SECONDS));
        String[] ran = new String[2];
        team.run(new Runnable[] {
            () -> ran[0] = Thread.currentThread().getName(),
            () -> ran[1] = Thread.currentThread().getName()
        });
        release.countDown();
        first.join(10_000);
        assertEquals(Thread.currentThread().getName(), ran[0]);
        assertEquals(Thread.currentThread().getName(), ran[1]);
        assertNotEquals("team-test-d-1", ran[1]);
    }

    @Test
    void moreJobsThanThreadsIsAnError() {
        WorkerTeam team = new WorkerTeam(1, 0L, "team-test-e");
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> team.run(new Runnable[] {() -> {}, () -> {}, () -> {}}));
        assertTrue(e.getMessage().contains("3 jobs for a team of 1 helpers"), e.getMessage());
    }
}
