import Histogram
import Synchronization

/// What the powerpc (book3s64 radix) strategies share: TLB invalidation by broadcast (tlbie, so a
/// flush sends no IPI), page tables freed through tlb_remove_table after an RCU-sched grace period that
/// an IRQ-off walker holds off, and serialize_against_pte_lookup, the IPI round each strategy sends
/// at the huge PMD changes it chooses (`hugePMDChanged`).
///
/// powerpc's mm_cpumask only ever gains CPUs: a CPU that once ran the mm keeps receiving the
/// serialize IPIs, idle or not (it is woken for each). The runs here model that by never taking a
/// walker out of the mask while it idles (these strategies send no x86 shootdowns, so `--lazy-tlb`
/// does not apply to them).
public protocol PowerpcStrategy: InterruptDriven {
    var powerpc: PowerpcPageTables { get }
}

extension PowerpcStrategy {
    public static var cpumaskPolicy: CPUMaskPolicy { .neverCleared }
    public var interrupts: InterruptDomain { powerpc.interrupts }
    public func retire(_ table: TableIndex, cpu: Int) { powerpc.gather.add(table) }
    /// tlb_finish_mmu: tlbie needs no IPI; the gathered tables go to call_rcu.
    public func flush(cpu: Int) { if let tables = powerpc.gather.takeAll() { powerpc.reclaimer.queue(tables) } }
    public func drain() { powerpc.reclaimer.drain() }
    public func enterIdle(cpu: Int) { powerpc.reclaimer.enterIdle(cpu) }
    public func exitIdle(cpu: Int) { powerpc.reclaimer.exitIdle(cpu) }

    /// `ipis_sent` counts the serialize IPIs; the grace periods are counted apart.
    public func updaterCounters() -> UpdaterCounters {
        UpdaterCounters(ipisSent: powerpc.serializeIPIs, gracePeriods: powerpc.reclaimer.gracePeriods.withLock { $0 })
    }

    public func resetUpdaterCounters() {
        powerpc.resetCounters()
        powerpc.reclaimer.gracePeriods.withLock { $0.reset() }
    }

    public func freeHeldBack(walker: Int, writer: Int) -> String? {
        interrupts.ackHeldBack(target: walker, sender: writer)
            ?? interrupts.ackHeldBack(target: walker, sender: powerpc.reclaimer.cpu).map { "grace period: " + $0 }
    }
}

/// The state behind `PowerpcStrategy`, one per strategy instance. Owns the grace-period thread.
public final class PowerpcPageTables: Sendable {
    let interrupts: InterruptDomain
    let gather = PendingTables()
    let reclaimer: GracePeriodReclaimer
    private let mm: AddressSpace
    private let rounds = Atomic<UInt64>(0)
    private let acked = Atomic<UInt64>(0)

    init(_ context: ProtectionContext) throws {
        // One CPU more than the run's: the reclaimer's, which only sends.
        interrupts = try InterruptDomain(cpuCount: context.cpuCount + 1)
        mm = context.mm
        reclaimer = GracePeriodReclaimer(interrupts: interrupts, pool: context.mm.pool, cpus: context.cpuCount,
                                         timeBase: context.timeBase)
        try reclaimer.start()
    }

    deinit { reclaimer.stop() }

    /// serialize_against_pte_lookup: smp_mb, then smp_call_function_many(mm_cpumask, wait=1). Returns
    /// once every CPU in the mask has acked, which an IRQ-off walker does only after its walk.
    func serialize(from cpu: Int) {
        mm.beginFlush()
        acked.wrappingAdd(UInt64(interrupts.interruptAndWait(mm.cpumask.snapshot(), from: cpu)), ordering: .relaxed)
        rounds.wrappingAdd(1, ordering: .relaxed)
    }

    /// Serialize rounds sent (one per call, however many CPUs the mask held) and the IPIs acked in them.
    var serializeRounds: UInt64 { rounds.load(ordering: .relaxed) }
    var serializeIPIs: UInt64 { acked.load(ordering: .relaxed) }

    func resetCounters() {
        rounds.store(0, ordering: .relaxed)
        acked.store(0, ordering: .relaxed)
    }
}
