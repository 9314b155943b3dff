/// `ppc-5.8`: walkers mask interrupts; only THP collapse sends the serialize IPI round; page tables are
/// RCU-freed.
///
/// Kernel analogue: powerpc book3s64 radix from 5.8 on: Aneesh Kumar's series ("powerpc/mm/book3s64:
/// Avoid sending IPI on clearing PMD") made __find_linux_pte's callers re-check the pte they get, and
/// dropped serialize_against_pte_lookup from pmd clear and invalidate; radix__pmdp_collapse_flush
/// keeps it so that gup_fast cannot race a collapse. The seed's munmap went from 82,150 ms to 39 ms.
///
/// Guarantee: tables are RCU-freed and the walkers are IRQ-off, so no walker reads a freed table;
/// a collapse still waits for every IRQ-off walker in the cpumask.
///
/// Why not the alternative: munmap and split cost no IPI at all and walkers pay only the mask; the
/// price moved into the walkers' callers, which must tolerate a pmd that changes under them.
public final class Ppc58Protection: BroadcastInvalidation, IRQOffWalkers {
    public static let name = "ppc-5.8"
    /// Bumped when what this strategy measures changes meaning; `bench compare` never compares across revisions.
    public static let revision = 1
    public static let summary = "walkers mask interrupts; the serialize IPI round only in THP collapse; tables RCU-freed (powerpc 5.8 and later)"
    public static let kernel = "powerpc book3s64 radix from 5.8: serialize_against_pte_lookup kept only in pmdp_collapse_flush; tables through tlb_remove_table and RCU; mm_cpumask bits never cleared"
    public static let guaranteesSafety = true
    public static let inDefaultSuite = false

    public let shared: BroadcastInvalidationState
    public let interrupts: InterruptDomain

    public init(_ context: ProtectionContext) throws {
        shared = try BroadcastInvalidationState(context)
        interrupts = shared.interrupts
    }

    public func hugePMDChanged(_ change: HugePMDChange, cpu: Int) {
        if change == .collapsed { shared.serialize(from: cpu) }
    }
}
