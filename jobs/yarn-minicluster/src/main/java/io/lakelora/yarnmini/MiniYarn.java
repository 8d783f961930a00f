package io.lakelora.yarnmini;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;

/**
 * Starts a YARN ResourceManager and one NodeManager (Hadoop's {@code MiniYARNCluster}) on this machine, writes the
 * client configuration a {@code spark-submit --master yarn} needs to {@code <confDir>/yarn-site.xml} (the directory
 * to pass as {@code HADOOP_CONF_DIR}), and runs until its standard input closes. Containers (the ApplicationMaster
 * with a cluster-mode driver, the executors) are separate JVMs launched by the NodeManager.
 *
 * <p>Usage: {@code MiniYarn <confDir> <memoryMb> <vcores>}; the cluster's state lives under the working directory
 * ({@code -Dtest.build.data=DIR} moves it).
 */
public final class MiniYarn {
    private MiniYarn() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: MiniYarn <confDir> <nodeManagerMemoryMb> <nodeManagerVcores>");
            System.exit(2);
        }
        Path confDir = Path.of(args[0]);
        YarnConfiguration conf = new YarnConfiguration();
        conf.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 256);
        // MiniYARNCluster gives its NodeManagers yarn.minicluster.* sizes (default 4096 MB), not the NM keys
        conf.setInt(YarnConfiguration.YARN_MINICLUSTER_NM_PMEM_MB, Integer.parseInt(args[1]));
        conf.setInt(YarnConfiguration.NM_PMEM_MB, Integer.parseInt(args[1]));
        conf.setInt(YarnConfiguration.NM_VCORES, Integer.parseInt(args[2]));
        // a test machine: no memory policing of containers, no refusal when the disk is fuller than 90%
        conf.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false);
        conf.setBoolean(YarnConfiguration.NM_PMEM_CHECK_ENABLED, false);
        conf.setFloat(YarnConfiguration.NM_MAX_PER_DISK_UTILIZATION_PERCENTAGE, 100f);
        conf.set("yarn.scheduler.capacity.maximum-am-resource-percent", "1.0");
        MiniYARNCluster cluster = new MiniYARNCluster("lakelora", 1, 1, 1);
        cluster.init(conf);
        cluster.start();
        Configuration published = cluster.getConfig();
        long end = System.nanoTime() + 60_000_000_000L;
        while (published.get(YarnConfiguration.RM_ADDRESS, "").endsWith(":0")) {
            if (System.nanoTime() > end) throw new IllegalStateException("the ResourceManager did not bind a port");
            Thread.sleep(100);
        }
        write(published, confDir);
        System.out.println("[miniyarn] ResourceManager at " + published.get(YarnConfiguration.RM_ADDRESS)
                + ", client configuration in " + confDir);
        System.out.flush();
        while (System.in.read() != -1) {
            // runs until the parent closes our standard input (or dies)
        }
        cluster.stop();
        System.exit(0);
    }

    /** The configuration as {@code yarn-site.xml}, moved into place in one step so a reader never sees half. */
    private static void write(Configuration c, Path dir) throws IOException {
        Files.createDirectories(dir);
        Path tmp = dir.resolve("yarn-site.xml.tmp");
        try (OutputStream os = Files.newOutputStream(tmp)) {
            c.writeXml(os);
        }
        Files.move(tmp, dir.resolve("yarn-site.xml"), StandardCopyOption.ATOMIC_MOVE);
    }
}
