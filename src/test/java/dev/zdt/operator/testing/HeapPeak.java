package dev.zdt.operator.testing;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The heap used before an attack and the highest seen while it runs, sampled every millisecond in a
 * background thread. Used heap counts garbage not yet collected, so the growth it shows is at most
 * what was allocated: an upper bound of what the attack made the process hold.
 */
public final class HeapPeak implements AutoCloseable {

    private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

    private final long before;
    private final AtomicLong peak = new AtomicLong();
    private final Thread sampler;
    private volatile boolean running = true;

    private HeapPeak() {
        System.gc();
        before = used();
        peak.set(before);
        sampler = new Thread(() -> {
            while (running) {
                peak.accumulateAndGet(used(), Math::max);
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "heap-peak");
        sampler.setDaemon(true);
        sampler.start();
    }

    /** Collects garbage, notes the heap used, and samples from now on. */
    public static HeapPeak start() {
        return new HeapPeak();
    }

    private static long used() {
        return MEMORY.getHeapMemoryUsage().getUsed();
    }

    public long before() {
        return before;
    }

    /** Growth of the used heap, peak over before, in bytes (sampling goes on until close). */
    public long growth() {
        peak.accumulateAndGet(used(), Math::max);
        return Math.max(0, peak.get() - before);
    }

    public static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        sampler.join(1000);
    }
}
