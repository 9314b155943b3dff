/// `ppc-serialize`: walkers mask interrupts; every huge PMD a writer clears, invalidates or collapses
/// costs an IPI round to the mm's cpumask; page tables are RCU-freed.
///
/// Kernel analogue: powerpc book3s64 (radix) before 5.8 (4.19 to 5.7): radix__pmdp_huge_get_and_clear
/// (munmap and MADV_DONTNEED of a THP), pmdp_invalidate (THP split) and pmdp_collapse_flush
/// (khugepaged) each called serialize_against_pte_lookup, an smp_call_function_many to mm_cpumask
/// with wait=1, so that find_linux_pte and gup_fast, which walk with interrupts off, never use a pmd
/// after it stopped mapping a huge page. Tables themselves went through tlb_remove_table and RCU.
/// A munmap of a THP range sends one round per 2 MiB PMD: the 275 s munmap of 496 GB on 128 vCPUs
/// that started the walker-counting series.
///
/// Guarantee: IRQ-off walkers hold off both the serialize round and the grace period, so no table is
/// freed under a walker and no huge pmd change completes while one may still use the old value.
///
/// Why not the alternative: the walkers pay only the interrupt mask; the writer pays a round trip to
/// every CPU that ever ran the mm (powerpc never clears mm_cpumask bits), per huge PMD, idle CPUs
/// woken for each. ppc-serialize-counted skips rounds when no walker runs; ppc-5.8 drops them from
/// clear and invalidate.
public final class PpcSerializeProtection: BroadcastInvalidation, IRQOffWalkers {
    public static let name = "ppc-serialize"
    /// Bumped when what this strategy measures changes meaning; `bench compare` never compares across revisions.
    public static let revision = 1
    public static let summary = "walkers mask interrupts; an IPI round to the cpumask at every huge PMD clear, split and collapse; tables RCU-freed (powerpc before 5.8)"
    public static let kernel = "powerpc book3s64 radix, 4.19 to 5.7: serialize_against_pte_lookup in pmdp_huge_get_and_clear, pmdp_invalidate and pmdp_collapse_flush; tables through tlb_remove_table and RCU; mm_cpumask bits never cleared"
    public static let guaranteesSafety = true
    public static let inDefaultSuite = false

    public let shared: BroadcastInvalidationState
    public let interrupts: InterruptDomain

    public init(_ context: ProtectionContext) throws {
        shared = try BroadcastInvalidationState(context)
        interrupts = shared.interrupts
    }

    public func hugePMDChanged(_ change: HugePMDChange, cpu: Int) { shared.serialize(from: cpu) }
}
