import CWalkSupport
import Synchronization

/// x86's TLB shootdown (native_flush_tlb_multi with wait=true): an IPI round to a snapshot of the mm's
/// cpumask, waiting for every ack, with lazy CPUs skipped as the LazyTLB policy says. Shared by the
/// strategies that stand for x86 (irq-disable, irq-disable-rcu); it counts the IPIs it saw acked and
/// the ones it skipped.
final class Shootdown: Sendable {
    let interrupts: InterruptDomain
    private let mm: AddressSpace
    let lazyTLB: LazyTLB
    private let acked = Atomic<UInt64>(0)
    private let skippedLazy = Atomic<UInt64>(0)

    init(interrupts: InterruptDomain, mm: AddressSpace, lazyTLB: LazyTLB) {
        self.interrupts = interrupts
        self.mm = mm
        self.lazyTLB = lazyTLB
    }

    /// A flush that frees tables: lazy CPUs are interrupted too (their page walkers may hold the old
    /// tables), unless the policy is the deliberately broken skip-even-when-freeing.
    func freeingTables(from cpu: Int) { send(skippingLazy: lazyTLB == .skipEvenWhenFreeing, from: cpu) }

    /// flush_tlb_mm_range without freed tables: lazy CPUs are skipped when lazy TLB is on; they flush
    /// for themselves when they switch back to the mm.
    func tlbOnly(from cpu: Int) { send(skippingLazy: lazyTLB != .off, from: cpu) }

    private func send(skippingLazy: Bool, from cpu: Int) {
        mm.beginFlush()
        var targets = mm.cpumask.snapshot()
        if skippingLazy {
            let (awake, lazy) = mm.cpumask.split(by: mm.lazyCPUs)
            let skipped = lazy.count - (lazy.contains(cpu) ? 1 : 0)
            if skipped > 0 {
                skippedLazy.wrappingAdd(UInt64(skipped), ordering: .relaxed)
                wb_event_add(WB_EVENT_IPIS_SKIPPED_LAZY, Int64(skipped))
            }
            targets = awake
        }
        acked.wrappingAdd(UInt64(interrupts.interruptAndWait(targets, from: cpu)), ordering: .relaxed)
    }

    var ipisSent: UInt64 { acked.load(ordering: .relaxed) }
    /// nil when lazy TLB is off (nothing is ever skipped then).
    var ipisSkippedLazy: UInt64? { lazyTLB == .off ? nil : skippedLazy.load(ordering: .relaxed) }

    func resetCounters() {
        acked.store(0, ordering: .relaxed)
        skippedLazy.store(0, ordering: .relaxed)
    }
}
