import CURCUMemb

/// `rcu-memb-irq`: walkers mask interrupts and take rcu_read_lock (liburcu memb, inlined); the freer
/// is rcu-memb's: batches freed from call_rcu, or a sync IPI and an immediate free when a batch fails.
///
/// Kernel analogue: gup_fast on an MMU_GATHER_RCU_TABLE_FREE architecture: local_irq_save around the
/// walk (gup.c keeps it "as we also want to block IPIs that come from THPs splitting"), with the
/// read-side protection the table free relies on; tlb_remove_table_one's comment names exactly this
/// reader class as the one its sync IPI is "sufficient for".
///
/// Guarantee: the grace period covers the walk as in rcu-memb; and when a batch cannot be allocated,
/// the sync IPI that precedes the immediate free is acked only when the walker unmasks, after the
/// walk. Both paths are safe, whatever `batchFailRate`.
///
/// Why not the alternative: the walker pays the interrupt mask (two stores) on top of the RCU counter,
/// the price of surviving the fallback that makes rcu-memb unsafe; with RCU-sched, as the kernel has,
/// the mask alone would do (an IRQ-off region holds off the grace period), but liburcu has no sched
/// flavour, so here both are taken.
public final class RcuMembIrqProtection: WalkProtection {
    public static let name = "rcu-memb-irq"
    /// Bumped when what this strategy measures changes meaning; `bench compare` never compares across revisions.
    /// 2: THP collapse frees its PTE table through pte_free_defer (its own call_rcu, no fallback).
    public static let revision = 2
    public static let summary = "walkers mask interrupts and rcu_read_lock (gup_fast's class); rcu-memb's freer; the sync-IPI fallback is safe for them"
    public static let kernel = "gup_fast on MMU_GATHER_RCU_TABLE_FREE architectures: an IRQ-off region is an RCU read-side section (consolidated RCU, 5.0+), and the sync-IPI fallback waits for it"
    public static let guaranteesSafety = true
    public static let walkersMaskInterrupts = true
    public static let batchesTables = true

    private let tables: RcuTableFree<RcuMemb>
    private let interrupts: InterruptDomain

    public init(_ context: ProtectionContext) throws {
        tables = try RcuTableFree(context, seed: 0x7263_752D_6972_7121)
        interrupts = tables.interrupts
    }

    public func cpuStarted(_ cpu: Int) {
        interrupts.bind(cpu)
        RcuMemb.registerThread()
        tables.noteReader(cpu: cpu)
    }

    public func cpuStopping(_ cpu: Int) {
        tables.forgetReader(cpu: cpu)
        RcuMemb.unregisterThread()
        interrupts.unbind(cpu)
    }

    @inline(__always) public func beginWalk(cpu: Int) {
        interrupts.irqDisable(cpu)  // local_irq_save
        wb_memb_read_lock()
    }

    @inline(__always) public func endWalk(cpu: Int) {
        wb_memb_read_unlock()
        interrupts.irqEnable(cpu)   // local_irq_restore: a deferred sync IPI is acked here
    }

    public func retire(_ table: TableIndex, cpu: Int) { tables.retire(table, cpu: cpu) }
    public func flush(cpu: Int) { tables.flush() }
    public func retireDeferred(_ table: TableIndex, cpu: Int) { tables.retireDeferred(table) }
    public func drain() { tables.drain() }

    public func updaterCounters() -> UpdaterCounters { tables.counters }
    public func resetUpdaterCounters() { tables.resetCounters() }
    public func waitDescription(cpu: Int) -> String? { interrupts.waitDescription(cpu: cpu) }
    public func freeHeldBack(walker: Int, writer: Int) -> String? { tables.freeHeldBack(walker: walker, writer: writer) }
}
