import CWalkSupport
import Synchronization

/// x86's TLB shootdown (native_flush_tlb_multi with wait=true): an IPI round to a snapshot of the mm's
/// cpumask, waiting for every ack, with lazy CPUs skipped as the LazyTLB policy says and, under the
/// clearedLazily cpumask policy, CPUs that no longer run the mm skipped by TLB-only flushes except at
/// a trim. Shared by the strategies that stand for x86 (irq-disable, irq-disable-rcu); it counts the
/// IPIs it saw acked and the ones it skipped.
final class Shootdown: Sendable {
    let interrupts: InterruptDomain
    private let mm: AddressSpace
    let lazyTLB: LazyTLB
    let policy: CPUMaskPolicy
    private let trimInterval: UInt64
    /// mm->context.next_trim_cpumask, in monotonic nanoseconds.
    private let nextTrim = Atomic<UInt64>(0)
    private let acked = Atomic<UInt64>(0)
    private let skippedLazy = Atomic<UInt64>(0)
    private let trims = Atomic<UInt64>(0)

    init(interrupts: InterruptDomain, mm: AddressSpace, options: ProtectionOptions, policy: CPUMaskPolicy) {
        self.interrupts = interrupts
        self.mm = mm
        lazyTLB = options.lazyTLB
        self.policy = policy
        trimInterval = options.cpumaskTrimNanoseconds
        // As mm->context.next_trim_cpumask at mm creation: the first trim one interval in.
        nextTrim.store(TimeBase.monotonicNanoseconds() &+ trimInterval, ordering: .relaxed)
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
            var skipped = lazy.filter { $0 != cpu }.count
            targets = awake
            if policy == .clearedLazily {
                // should_flush_tlb: a CPU whose loaded mm is another one is skipped, unless this flush
                // trims the cpumask (should_trim_cpumask: at most once per interval), which makes it leave.
                let (running, stale) = CPUMask.partition(awake, by: mm.staleCPUs)
                if !stale.isEmpty && !trimDue() {
                    targets = running
                    skipped += stale.filter { $0 != cpu }.count
                }
            }
            if skipped > 0 {
                skippedLazy.wrappingAdd(UInt64(skipped), ordering: .relaxed)
                wb_event_add(WB_EVENT_IPIS_SKIPPED_LAZY, Int64(skipped))
            }
        }
        acked.wrappingAdd(UInt64(interrupts.interruptAndWait(targets, from: cpu)), ordering: .relaxed)
    }

    /// should_trim_cpumask: true at most once per interval; the flush that gets it trims.
    private func trimDue() -> Bool {
        let now = TimeBase.monotonicNanoseconds()
        let next = nextTrim.load(ordering: .relaxed)
        guard now >= next, nextTrim.compareExchange(expected: next, desired: now &+ trimInterval, ordering: .relaxed).exchanged else {
            return false
        }
        trims.wrappingAdd(1, ordering: .relaxed)
        return true
    }

    /// Flushes that trimmed the cpumask; nil unless the policy is clearedLazily with lazy TLB on.
    var cpumaskTrims: UInt64? { policy == .clearedLazily && lazyTLB != .off ? trims.load(ordering: .relaxed) : nil }

    var ipisSent: UInt64 { acked.load(ordering: .relaxed) }
    /// nil when lazy TLB is off (nothing is ever skipped then).
    var ipisSkippedLazy: UInt64? { lazyTLB == .off ? nil : skippedLazy.load(ordering: .relaxed) }

    func resetCounters() {
        acked.store(0, ordering: .relaxed)
        skippedLazy.store(0, ordering: .relaxed)
        trims.store(0, ordering: .relaxed)
    }
}
