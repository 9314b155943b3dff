#if canImport(Glibc)
import Glibc
#endif
import CWalkSupport
import Histogram
import Synchronization

/// `irq-disable-rcu`: irq-disable's walkers and shootdown, but retired tables are freed only after a
/// grace period, which an IRQ-off walker holds off: x86 since MMU_GATHER_RCU_TABLE_FREE became
/// unconditional there.
///
/// Kernel analogue: x86-64 from 6.15 (as reported: Rik van Riel's INVLPGB series made the RCU table
/// free unconditional) and x86 guests with PARAVIRT TLB flush on any version before it:
/// native_flush_tlb_multi's shootdown for the flush, then tlb_remove_table → call_rcu, where an
/// IRQ-disabled region is an RCU read-side critical section. The grace period is emulated by what an
/// IRQ-off window holds off exactly: a reclaimer thread's IPI round to every CPU (not only the mm's
/// cpumask), acked only once each CPU has its interrupts on again; the walker's cost stays a mask
/// store each way.
///
/// Guarantee: the shootdown as irq-disable, and a table is freed only after every CPU, in the cpumask
/// or not, has acked an IPI sent after the flush: a walker that loaded the old entry is inside its
/// IRQ-off window, so the free waits for it, foreign walkers included (seed 001 no longer applies).
///
/// Why not the alternative: the freer no longer frees on its critical path (the shootdown still waits
/// for IRQ-off walkers in the cpumask), and foreign walkers are safe; the price is memory held for a
/// grace period and one more IPI round per batch (here; the kernel's grace period needs no IPI).
/// `ipis_sent` counts the shootdowns only, as for irq-disable; the grace periods are counted apart.
public final class IrqDisableRcuFreeProtection: IRQOffWalkers {
    public static let name = "irq-disable-rcu"
    /// Bumped when what this strategy measures changes meaning; `bench compare` never compares across revisions.
    /// 2: x86's lazy cpumask (209954cbc7d0) with --lazy-tlb on.
    public static let revision = 2
    public static let summary = "irq-disable's walkers and shootdown; tables freed after a grace period IRQ-off walkers hold off (x86 6.15+, PARAVIRT guests)"
    public static let kernel = "x86-64 from 6.15 (as reported) and x86 guests with PARAVIRT TLB flush on any version: the shootdown for the flush, tables freed through tlb_remove_table → call_rcu, an IRQ-off walker holding off the grace period"
    public static let guaranteesSafety = true
    public static let sendsTLBShootdowns = true
    /// The kernels this stands for update mm_cpumask lazily.
    public static let cpumaskPolicy = CPUMaskPolicy.clearedLazily

    public let interrupts: InterruptDomain
    private let gather = PendingTables()
    private let shootdown: Shootdown
    private let reclaimer: GracePeriodReclaimer

    public init(_ context: ProtectionContext) throws {
        // One CPU more than the run's: the reclaimer's, which only sends.
        interrupts = try InterruptDomain(cpuCount: context.cpuCount + 1)
        shootdown = Shootdown(interrupts: interrupts, mm: context.mm, options: context.options, policy: Self.cpumaskPolicy)
        reclaimer = GracePeriodReclaimer(interrupts: interrupts, pool: context.mm.pool, cpus: context.cpuCount,
                                         timeBase: context.timeBase)
        try reclaimer.start()
    }

    deinit { reclaimer.stop() }

    public func retire(_ table: TableIndex, cpu: Int) { gather.add(table) }

    /// tlb_finish_mmu with freed tables: irq-disable's shootdown, then the tables go to call_rcu
    /// instead of back to the pool.
    public func flush(cpu: Int) {
        guard let tables = gather.takeAll() else { return }
        shootdown.freeingTables(from: cpu)
        reclaimer.queue(tables)
    }

    public func flushTLBOnly(cpu: Int) { shootdown.tlbOnly(from: cpu) }

    public func enterIdle(cpu: Int) { reclaimer.enterIdle(cpu) }
    public func exitIdle(cpu: Int) { reclaimer.exitIdle(cpu) }

    /// rcu_barrier: returns once every table queued so far is freed.
    public func drain() { reclaimer.drain() }

    public func updaterCounters() -> UpdaterCounters {
        UpdaterCounters(ipisSent: shootdown.ipisSent, ipisSkippedLazy: shootdown.ipisSkippedLazy,
                        gracePeriods: reclaimer.gracePeriods.withLock { $0 }, cpumaskTrims: shootdown.cpumaskTrims)
    }

    public func resetUpdaterCounters() {
        shootdown.resetCounters()
        reclaimer.gracePeriods.withLock { $0.reset() }
    }

    public func freeHeldBack(walker: Int, writer: Int) -> String? {
        interrupts.ackHeldBack(target: walker, sender: writer)
            ?? reclaimer.heldBack(walker: walker)
    }
}
