/// `invlpgb`: x86 with broadcast TLB invalidation: walkers mask interrupts, flushes send no IPI at all,
/// and tables are freed after a grace period that an IRQ-off walker holds off.
///
/// Kernel analogue: x86-64 from 6.15 (as reported) on AMD CPUs with INVLPGB (Zen 3 and later), for an
/// mm that holds a global ASID (consider_global_asid gives one to a process active on 4 or more CPUs
/// at once): flush_tlb_mm_range goes to broadcast_tlb_flush (INVLPGB, then TLBSYNC) instead of
/// native_flush_tlb_multi, freed tables or not, and tables go through tlb_remove_table → call_rcu, as
/// MMU_GATHER_RCU_TABLE_FREE is unconditional on x86 in the same series. An mm without a global ASID
/// is irq-disable-rcu.
///
/// Guarantee: no IPI waits for a walker any more, so safety rests on the grace period alone, which an
/// IRQ-off walker holds off (an IRQ-disabled region is an RCU read-side critical section): no table is
/// freed under a walker, in the cpumask or not.
///
/// Why not the alternative: the writer's flush no longer interrupts or waits for anyone (the broadcast
/// costs the hardware, which is free here, as tlbie is for the powerpc strategies); the walker pays one
/// mask store each way; the price is memory held for a grace period.
public final class InvlpgbProtection: BroadcastInvalidation, IRQOffWalkers {
    public static let name = "invlpgb"
    /// Bumped when what this strategy measures changes meaning; `bench compare` never compares across revisions.
    public static let revision = 1
    public static let summary = "walkers mask interrupts; flushes by broadcast (no IPI); tables freed after a grace period IRQ-off walkers hold off (x86 6.15+ INVLPGB, global ASID)"
    public static let kernel = "x86-64 from 6.15 (as reported) on AMD with INVLPGB, an mm with a global ASID (active on 4+ CPUs): broadcast_tlb_flush instead of IPIs, tables through tlb_remove_table → call_rcu"
    public static let guaranteesSafety = true
    public static let cpumaskPolicy = CPUMaskPolicy.clearedLazily
    /// Run by name: its numbers are irq-disable-rcu's without the shootdown, and the default suite stays near a minute.
    public static let inDefaultSuite = false

    public let shared: BroadcastInvalidationState
    public let interrupts: InterruptDomain

    public init(_ context: ProtectionContext) throws {
        shared = try BroadcastInvalidationState(context)
        interrupts = shared.interrupts
    }
}
