import Synchronization

/// `counted-percpu`: as `counted`, but each CPU counts its own walks in its own word. An SRCU-like
/// per-CPU reader count, not the 2019 series.
///
/// Kernel analogue: none merged: the per-CPU counters suggested for the series (this_cpu_inc, smp_mb,
/// walk, smp_mb, this_cpu_dec; the freer reads every CPU), with `counted`'s spin-until-zero freer
/// instead of the series' IRQ-off walkers and IPI.
///
/// Guarantee: the same store-buffering argument per CPU: after its fence the freer waits until it has
/// seen each CPU's count at zero. A walker decrements the word it incremented because a simulated CPU
/// never migrates (the kernel needs preemption disabled for that).
///
/// Why not the alternative: no shared line, and the increment is a plain store, but the full fence
/// per walk stays (on x86 an mfence, the expensive half of `counted`), and the freer reads every CPU.
public final class CountedPerCPUProtection: WalkProtection {
    public static let name = "counted-percpu"
    /// Bumped when what this strategy measures changes meaning; `bench compare` never compares across revisions.
    public static let revision = 1
    public static let summary = "walkers this_cpu_inc + smp_mb ... smp_mb + this_cpu_dec their own count; the freer fences and waits for each CPU's zero"
    public static let kernel = "none merged: the per-CPU form of counted (an SRCU-like count), not the 2019 series' design"
    public static let guaranteesSafety = true

    private let walkers: PerCPUCounters
    private let mm: AddressSpace
    private let waiting = PendingTables()

    public init(_ context: ProtectionContext) {
        walkers = PerCPUCounters(cpuCount: context.cpuCount)
        mm = context.mm
    }

    @inline(__always) public func beginWalk(cpu: Int) {
        // this_cpu_inc: only this CPU writes the word, so a non-locked increment (load, store).
        walkers[cpu].store(walkers[cpu].load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        atomicMemoryFence(ordering: .sequentiallyConsistent)  // smp_mb
    }

    @inline(__always) public func endWalk(cpu: Int) {
        atomicMemoryFence(ordering: .sequentiallyConsistent)  // smp_mb
        walkers[cpu].store(walkers[cpu].load(ordering: .relaxed) &- 1, ordering: .relaxed)  // this_cpu_dec
    }

    public func retire(_ table: TableIndex, cpu: Int) { waiting.add(table) }

    public func flush(cpu: Int) {
        guard let tables = waiting.takeAll() else { return }
        atomicMemoryFence(ordering: .sequentiallyConsistent)  // smp_mb
        walkers.waitForZero(except: cpu)
        for t in tables { mm.pool.free(t) }
    }

    public func drain() {}

    public func freeHeldBack(walker: Int, writer: Int) -> String? {
        walkers.waitHeldBack(on: walker, what: "CPU \(walker)'s walker count")
    }
}
