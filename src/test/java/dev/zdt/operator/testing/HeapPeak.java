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
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private final long before;
    private final java.util.Map<Long, Long> allocatedBefore = new java.util.HashMap<>();
    private final AtomicLong peak = new AtomicLong();
    private final Thread sampler;
    private volatile boolean running = true;

    private HeapPeak() {
        System.gc();
        before = used();
        long[] ids = THREADS.getAllThreadIds();
        long[] bytes = THREADS.getThreadAllocatedBytes(ids);
        for (int i = 0; i < ids.length; i++) {
            allocatedBefore.put(ids[i], bytes[i]);
        }
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

    /**
     * Bytes allocated since start by the threads alive now (a thread started since counts from
     * zero). Unlike the sampled heap this does not depend on when the collector runs or on its
     * region size: the same reads allocate about the same bytes on every machine. A thread that
     * ended since start is not counted, so callers read it while the threads that did the work live.
     */
    public long allocated() {
        long[] ids = THREADS.getAllThreadIds();
        long[] bytes = THREADS.getThreadAllocatedBytes(ids);
        long sum = 0;
        for (int i = 0; i < ids.length; i++) {
            if (bytes[i] > 0 && ids[i] != sampler.getId()) {
                sum += bytes[i] - allocatedBefore.getOrDefault(ids[i], 0L);
            }
        }
        return sum;
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
