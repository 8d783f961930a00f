package io.lakelora.jobs.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * One list of JVM flags: bin/jvm.args (bin/lakelora, spark-submit examples, databricks.yml, the Airflow DAG) equals the
 * root pom's lakelora.jvm.flags (surefire's argLine), and this test JVM runs with them.
 */
class JvmFlagsTest {
    @Test
    void pomPropertyEqualsJvmArgsFile() {
        List<String> pom =
                Arrays.asList(ProjectFiles.pom("lakelora.jvm.flags").trim().split("\\s+"));
        assertEquals(ProjectFiles.jvmArgs(), pom, "root pom lakelora.jvm.flags vs bin/jvm.args");
    }

    @Test
    void testJvmHasTheFlags() {
        assertTrue(
                ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(),
                "--add-modules=jdk.incubator.vector");
        assertEquals("true", System.getProperty("java.awt.headless"));
        assertEquals("true", System.getProperty("io.netty.tryReflectionSetAccessible"));
        var hotspot = java.lang.management.ManagementFactory.getPlatformMXBean(
                com.sun.management.HotSpotDiagnosticMXBean.class);
        assertEquals("1000", hotspot.getVMOption("PerMethodTrapLimit").getValue(), "-XX:PerMethodTrapLimit=1000");
    }
}
