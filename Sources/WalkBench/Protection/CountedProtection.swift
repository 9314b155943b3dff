import Synchronization

/// `counted`: walkers bump a per-mm count around the walk, with full barriers; the freer waits for
/// the count to read zero before it frees. An SRCU-like reader count, not the 2019 series.
///
/// Kernel analogue: none merged. The walker side is the series' begin/end_lockless_pgtbl_walk
/// (atomic_inc + smp_mb ... smp_mb + atomic_dec, as register_lockless_pgtable_walker was proposed in
/// review), but the series' walkers also kept local_irq_save and its freer used the count only to skip
/// the serialize IPI; that design is `counted-ipi-skip`. Here interrupts stay on and the freer spins
/// until zero, which is what the count would have to do on its own.
///
/// Guarantee: store buffering with both fences. A walker increments, fences, then loads the pmd; the
/// freer unlinks, fences, then loads the count. Either the freer sees the walker's increment and waits,
/// or the walker sees the unlink and never reaches the old table.
///
/// Why not the alternative: every walk pays a contended atomic and two full fences on one shared line
/// ("128 CPUs banging on that atomic counter", Zijlstra), and a freer can wait a long time for a count
/// of zero under steady walking. irq-disable costs the walker nothing; per-CPU counts remove the line
/// bouncing.
public final class CountedProtection: WalkProtection {
    public static let name = "counted"
    /// Bumped when what this strategy measures changes meaning; `bench compare` never compares across revisions.
    public static let revision = 1
    public static let summary = "walkers atomic_inc + smp_mb ... smp_mb + atomic_dec a per-mm count; the freer fences and waits for zero"
    public static let kernel = "none merged: an SRCU-like walker count with interrupts left on, the freer spinning until zero; asked for in review of the 2019 powerpc series, which itself kept IRQ-off walkers (see counted-ipi-skip)"
    public static let guaranteesSafety = true

    private let walkers = PerCPUCounters(cpuCount: 1)  // one shared word, alone on its lines
    private let mm: AddressSpace
    private let waiting = PendingTables()

    public init(_ context: ProtectionContext) { mm = context.mm }

    @inline(__always) public func beginWalk(cpu: Int) {
        walkers[0].wrappingAdd(1, ordering: .relaxed)         // atomic_inc
        atomicMemoryFence(ordering: .sequentiallyConsistent)  // smp_mb: the count before any table read
    }

    @inline(__always) public func endWalk(cpu: Int) {
        atomicMemoryFence(ordering: .sequentiallyConsistent)  // smp_mb: every table read before the count
        walkers[0].wrappingSubtract(1, ordering: .relaxed)    // atomic_dec
    }

    public func retire(_ table: TableIndex, cpu: Int) { waiting.add(table) }

    public func flush(cpu: Int) {
        guard let tables = waiting.takeAll() else { return }
        atomicMemoryFence(ordering: .sequentiallyConsistent)  // smp_mb: the unlinks before the count is read
        walkers.waitForZero(except: -1)
        for t in tables { mm.pool.free(t) }
    }

    public func drain() {}

    public func freeHeldBack(walker: Int, writer: Int) -> String? { walkers.waitHeldBack(on: 0, what: "the walker count") }
}
