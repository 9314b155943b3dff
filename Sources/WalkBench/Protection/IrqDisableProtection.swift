import CWalkSupport
import Synchronization

/// `irq-disable`: walkers disable interrupts; the freer IPIs every CPU in the mm's cpumask and waits.
///
/// Kernel analogue: gup_fast on x86 (local_irq_save around the walk) with native_flush_tlb_multi
/// sending the shootdown with wait=true; the free side is also powerpc's serialize_against_pte_lookup,
/// but flushes that free nothing (mprotect, MADV_DONTNEED) send the IPI as only x86 does, skipping
/// CPUs idling with the mm loaded when lazy TLB is on. Disabling is powerpc's lazy form, a store to a
/// per-CPU mask; an IPI that finds it set is recorded and acked only when the walker enables again.
///
/// Guarantee: a table is freed only after every CPU in the cpumask snapshot, lazy or not, has acked an
/// IPI sent after the unlink. A walker that loaded the old entry is inside its IRQ-off window, so its ack
/// (and the free) waits until the walk is over. A walker not in the cpumask is not covered (seed 001).
///
/// Why not the alternative: walkers pay almost nothing (a store each way), but every free costs an IPI
/// round to all CPUs that ran the mm, and the freer's latency is the slowest walker's window plus
/// signal delivery. RCU table freeing moves that cost off the freer's critical path.
public final class IrqDisableProtection: IRQOffWalkers {
    public static let name = "irq-disable"
    /// Bumped when what this strategy measures changes meaning; `bench compare` never compares across revisions.
    /// 2: a munmap that clears leaves but frees no table now sends the TLB-only shootdown, as x86 does.
    public static let revision = 2
    public static let summary = "walkers mask interrupts (a store); the freer IPIs the mm's cpumask and waits for every ack"
    public static let kernel = "x86-64 bare metal up to 6.14 (tables freed once the shootdown IPIs are acked; guests with PARAVIRT TLB flush already freed through RCU, and 6.15+ does on all x86); the IPI-waits-for-IRQ-off rule behind gup_fast everywhere"
    public static let guaranteesSafety = true
    public static let sendsTLBShootdowns = true

    public let interrupts: InterruptDomain
    private let mm: AddressSpace
    private let gather = PendingTables()
    private let shootdown: Shootdown

    public init(_ context: ProtectionContext) throws {
        interrupts = try InterruptDomain(cpuCount: context.cpuCount)
        mm = context.mm
        shootdown = Shootdown(interrupts: interrupts, mm: context.mm, options: context.options, policy: Self.cpumaskPolicy)
    }

    public func retire(_ table: TableIndex, cpu: Int) { gather.add(table) }

    /// tlb_finish_mmu with freed tables: the shootdown to the whole cpumask, lazy CPUs included (their
    /// page walkers may hold the old tables), then the frees.
    public func flush(cpu: Int) {
        guard let tables = gather.takeAll() else { return }
        shootdown.freeingTables(from: cpu)
        for t in tables { mm.pool.free(t) }
    }

    public func flushTLBOnly(cpu: Int) { shootdown.tlbOnly(from: cpu) }

    public func drain() {}

    public func updaterCounters() -> UpdaterCounters {
        UpdaterCounters(ipisSent: shootdown.ipisSent, ipisSkippedLazy: shootdown.ipisSkippedLazy)
    }

    public func resetUpdaterCounters() { shootdown.resetCounters() }
}
