import Histogram
import Synchronization

/// What the strategies share whose TLB invalidation is a broadcast instruction (powerpc's tlbie, x86's
/// INVLPGB), so a flush sends no IPI, and whose page tables are freed through tlb_remove_table after a
/// grace period that an IRQ-off walker holds off. powerpc adds serialize_against_pte_lookup, the IPI
/// round each ppc-* strategy sends at the huge PMD changes it chooses (`hugePMDChanged`).
///
/// powerpc's mm_cpumask only ever gains CPUs: a CPU that once ran the mm keeps receiving the
/// serialize IPIs, idle or not (it is woken for each). The runs here model that by never taking a
/// walker out of the mask while it idles (these strategies send no x86 shootdowns, so `--lazy-tlb`
/// does not apply to them).
///
/// Each strategy keeps `interrupts` as its own stored property (the same domain as `shared`'s): read
/// through `shared` twice a walk it cost 97 instructions more per walk (callgrind, read-mostly lookup:
/// 428 Ir against irq-disable's 331; 331 once stored).
public protocol BroadcastInvalidation: InterruptDriven {
    var shared: BroadcastInvalidationState { get }
}

extension BroadcastInvalidation {
    public static var cpumaskPolicy: CPUMaskPolicy { .neverCleared }
    public func retire(_ table: TableIndex, cpu: Int) { shared.gather.add(table) }
    /// tlb_finish_mmu: the broadcast invalidation needs no IPI; the gathered tables go to call_rcu.
    public func flush(cpu: Int) { if let tables = shared.gather.takeAll() { shared.reclaimer.queue(tables) } }
    public func drain() { shared.reclaimer.drain() }
    public func enterIdle(cpu: Int) { shared.reclaimer.enterIdle(cpu) }
    public func exitIdle(cpu: Int) { shared.reclaimer.exitIdle(cpu) }

    /// `ipis_sent` counts the serialize IPIs (none but powerpc's); the grace periods are counted apart.
    public func updaterCounters() -> UpdaterCounters {
        UpdaterCounters(ipisSent: shared.serializeIPIs, gracePeriods: shared.reclaimer.gracePeriods.withLock { $0 })
    }

    public func resetUpdaterCounters() {
        shared.resetCounters()
        shared.reclaimer.gracePeriods.withLock { $0.reset() }
    }

    public func freeHeldBack(walker: Int, writer: Int) -> String? {
        interrupts.ackHeldBack(target: walker, sender: writer)
            ?? shared.reclaimer.heldBack(walker: walker)
    }
}

/// The state behind `BroadcastInvalidation`, one per strategy instance. Owns the grace-period thread.
public final class BroadcastInvalidationState: Sendable {
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

/// Walkers that only mask interrupts around the walk (gup_fast's local_irq_save): a store each way.
/// irq-disable, irq-disable-rcu, invlpgb, ppc-serialize and ppc-5.8.
public protocol IRQOffWalkers: InterruptDriven {}

extension IRQOffWalkers {
    public static var walkersMaskInterrupts: Bool { true }
    @inline(__always) public func beginWalk(cpu: Int) { interrupts.irqDisable(cpu) }
    @inline(__always) public func endWalk(cpu: Int) { interrupts.irqEnable(cpu) }
}
