import Synchronization

/// `counted-ipi-skip`: walkers disable interrupts and count; the freer sends its table-freeing IPI
/// only when the count is non-zero.
///
/// Kernel analogue: none as such. It is the idea of L. Bras's 2019 powerpc series (IRQ-off walkers that
/// also count; the IPI skipped when the count reads zero) moved to where x86 sends its IPI, once per
/// gather that frees tables. The series as posted, which skipped powerpc's per-huge-PMD
/// serialize_against_pte_lookup, is `ppc-serialize-counted`; this name is kept so that old rows still
/// compare, and measures what it always did.
///
/// Guarantee: if the freer, after its fence, reads zero, no walker can hold the old entry (the SB
/// argument); if it reads non-zero, the IPI waits out every IRQ-off window, as in irq-disable.
///
/// Why not the alternative: the freer saves the IPI round whenever walkers are idle, but every walker
/// pays the count and both fences on top of the interrupt mask: the cost moves to the readers.
public final class CountedIPISkipProtection: InterruptDriven {
    public static let name = "counted-ipi-skip"
    /// Bumped when what this strategy measures changes meaning; `bench compare` never compares across revisions.
    public static let revision = 1
    public static let summary = "walkers mask interrupts and count (atomic + smp_mb); the freer IPIs the cpumask only when the count is non-zero"
    public static let kernel = "none as such: the 2019 powerpc series' count deciding the IPI, moved to a per-gather table-freeing IPI (the series as posted is ppc-serialize-counted)"
    public static let guaranteesSafety = true
    public static let walkersMaskInterrupts = true

    private let walkers = PerCPUCounters(cpuCount: 1)
    public let interrupts: InterruptDomain
    private let mm: AddressSpace
    private let waiting = PendingTables()

    public init(_ context: ProtectionContext) throws {
        interrupts = try InterruptDomain(cpuCount: context.cpuCount)
        mm = context.mm
    }

    @inline(__always) public func beginWalk(cpu: Int) {
        interrupts.irqDisable(cpu)
        walkers[0].wrappingAdd(1, ordering: .relaxed)         // atomic_inc
        atomicMemoryFence(ordering: .sequentiallyConsistent)  // smp_mb
    }

    @inline(__always) public func endWalk(cpu: Int) {
        atomicMemoryFence(ordering: .sequentiallyConsistent)  // smp_mb
        walkers[0].wrappingSubtract(1, ordering: .relaxed)    // atomic_dec
        interrupts.irqEnable(cpu)
    }

    public func retire(_ table: TableIndex, cpu: Int) { waiting.add(table) }

    public func flush(cpu: Int) {
        guard let tables = waiting.takeAll() else { return }
        atomicMemoryFence(ordering: .sequentiallyConsistent)  // smp_mb
        if walkers[0].load(ordering: .relaxed) != 0 {
            interrupts.interruptAndWait(mm.cpumask.snapshot(), from: cpu)
        }
        for t in tables { mm.pool.free(t) }
    }

    public func drain() {}
}
