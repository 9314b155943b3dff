#if canImport(Glibc)
import Glibc
#endif
import CWalkSupport
import Histogram
import Synchronization

/// The grace period of the strategies whose walkers only mask interrupts but whose tables are RCU-freed
/// (irq-disable-rcu, the powerpc family): a thread that takes the queued tables, sends an IPI
/// round to every CPU and waits for every ack (synchronize_rcu where an IRQ-off region is a read-side
/// section), then frees them. Idle CPUs are in an extended quiescent state, as RCU's dynticks idle:
/// the round skips them (they are neither woken nor, under lazy TLB, mistaken for flush targets).
/// Owned by the strategy, which stops and joins it.
final class GracePeriodReclaimer: @unchecked Sendable {
    // @unchecked Sendable: `queued` is behind its lock; the flags are atomics.
    let interrupts: InterruptDomain
    let pool: TablePool
    /// The reclaimer's own CPU number in the domain (one past the run's CPUs).
    let cpu: Int
    private let everyCPU: [Int]
    private let timeBase: TimeBase
    private let queued = Locked<[(tables: [TableIndex], tick: UInt64)]>([])
    private let inFlight = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private var thread: CPUThread?
    /// Per CPU: 1 while it idles (enterIdle to exitIdle).
    private let idle: PerCPUCounters
    let gracePeriods = Locked(Histogram<UInt64>(highestTrackableValue: 1 << 46, numberOfSignificantValueDigits: .three))

    init(interrupts: InterruptDomain, pool: TablePool, cpus: Int, timeBase: TimeBase) {
        self.interrupts = interrupts
        self.pool = pool
        cpu = cpus
        everyCPU = Array(0..<cpus)
        self.timeBase = timeBase
        idle = PerCPUCounters(cpuCount: cpus)
    }

    /// The CPU's walks are over until exitIdle.
    func enterIdle(_ cpu: Int) { idle[cpu].store(1, ordering: .releasing) }

    /// Pairs with the fence in the round: either the round saw this CPU busy and waits for it, or the
    /// CPU's next walk, after this fence, sees every unlink made before the round began.
    func exitIdle(_ cpu: Int) {
        idle[cpu].store(0, ordering: .relaxed)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }

    /// Forced schedules: the grace period's IPI round waiting on `walker`'s masked interrupts.
    func heldBack(walker: Int) -> String? {
        interrupts.ackHeldBack(target: walker, sender: cpu).map { "grace period: " + $0 }
    }

    /// call_rcu for a gather's tables.
    func queue(_ tables: [TableIndex]) {
        inFlight.wrappingAdd(1, ordering: .relaxed)
        queued.withLock { $0.append((tables, timeBase.now())) }
    }

    func start() throws {
        thread = try CPUThread { [self] in run() }
    }

    private func run() {
        while true {
            let work = queued.withLock { q -> [(tables: [TableIndex], tick: UInt64)] in defer { q.removeAll() }; return q }
            if work.isEmpty {
                if stopping.load(ordering: .acquiring) { return }
                usleep(50)
                continue
            }
            // One grace period covers everything queued before it began. The fence orders the unlinks
            // (made before `queue`) before the idle flags are read.
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            interrupts.interruptAndWait(everyCPU.filter { idle[$0].load(ordering: .relaxed) == 0 }, from: cpu)
            let now = timeBase.now()
            for w in work {
                for t in w.tables { pool.free(t) }
                _ = gracePeriods.withLock { $0.record(now > w.tick ? now - w.tick : 0) }
                wb_event_add(WB_EVENT_GRACE_PERIODS, 1)
            }
            inFlight.wrappingSubtract(work.count, ordering: .releasing)
        }
    }

    /// Waits until everything queued so far has been freed.
    func drain() {
        while inFlight.load(ordering: .acquiring) > 0 { usleep(50) }
    }

    /// Frees what is still queued, then ends the thread and joins it.
    func stop() {
        drain()
        stopping.store(true, ordering: .releasing)
        thread?.join()
        thread = nil
    }
}
