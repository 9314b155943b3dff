import Histogram

/// A way of keeping page-table pages alive while lockless walkers may read them.
///
/// As in liburcu's flavour table, every member belongs to one side:
/// - reader side, called by a walking CPU: `beginWalk` / `endWalk` around one walk (or `withWalk`, which
///   cannot be left half-open), `leafTableReached` just before the walk reads its last-level table,
///   `quiescent` between batches of walks, and `enterIdle` / `exitIdle` around a walker's idle time;
/// - updater side, called by a writer holding the mmap_lock for writing: `retire` a table it has just
///   unlinked (tlb_remove_table), `flush` at the end of the gather (tlb_finish_mmu), `flushTLBOnly`
///   after changing or clearing leaves without freeing a table (mprotect, MADV_DONTNEED, a THP split's
///   pmdp_invalidate), and `drain` to wait until everything retired has been freed (rcu_barrier).
///
/// Simulated CPUs are numbered 0..<cpuCount; each thread of a run is one CPU and calls `cpuStarted`
/// before its first walk and `cpuStopping` after its last (once no writer can send it anything).
public protocol WalkProtection: AnyObject, Sendable {
    /// The name used on the command line and in the CSV.
    static var name: String { get }
    /// What the CSV's `strategy_rev` column carries: bumped in the strategy's own file when its numbers change meaning.
    static var revision: Int { get }
    /// One line for `bench list`.
    static var summary: String { get }
    /// The kernel versions and architectures it stands for, in words (`bench list`, README).
    static var kernel: String { get }
    /// True if the strategy promises that no walker reads a freed table. `bench validate` expects SAFE
    /// from these and UNSAFE from the others.
    static var guaranteesSafety: Bool { get }
    /// Deliberately broken variants exist only for `bench validate`; they are never in a default list.
    static var validationOnly: Bool { get }
    /// False for families run only by name (see the default below).
    static var inDefaultSuite: Bool { get }
    /// Who stays in mm_cpumask: the architecture's and kernel version's rule.
    static var cpumaskPolicy: CPUMaskPolicy { get }
    /// True if the walkers run with interrupts off (they must then never spin on a PTE lock).
    static var walkersMaskInterrupts: Bool { get }
    /// True if the strategy's free is x86's TLB-shootdown IPI, so it also sends IPIs for flushes that
    /// free nothing, and the lazy-TLB option (`ProtectionOptions.lazyTLB`) changes what it does.
    static var sendsTLBShootdowns: Bool { get }
    /// True if retired tables go through mmu_table_batch and call_rcu, so `ProtectionOptions.batchFailRate`
    /// (the tlb_remove_table_one fallback) means something.
    static var batchesTables: Bool { get }

    init(_ context: ProtectionContext) throws

    func cpuStarted(_ cpu: Int)
    func cpuStopping(_ cpu: Int)

    func beginWalk(cpu: Int)
    func endWalk(cpu: Int)
    func leafTableReached(cpu: Int)
    func quiescent(cpu: Int)
    /// The CPU goes idle, and comes back before its next walk. Idle is an extended quiescent state.
    func enterIdle(cpu: Int)
    func exitIdle(cpu: Int)

    func retire(_ table: TableIndex, cpu: Int)
    func flush(cpu: Int)
    /// pte_free_defer (6.5+): THP collapse and retract_page_tables free the PTE table they took out
    /// after a grace period of its own (the table's rcu_head: nothing to allocate, so no sync-IPI
    /// fallback). Strategies without RCU free it as a gather of one table: retire, then flush.
    func retireDeferred(_ table: TableIndex, cpu: Int)
    /// A flush after which nothing is freed (flush_tlb_mm_range with freed_tables = 0). Only strategies
    /// that send TLB shootdowns do anything: the others model architectures that invalidate by
    /// broadcast (arm64 TLBI, powerpc tlbie) or keep their IPI for table freeing alone.
    func flushTLBOnly(cpu: Int)
    /// A huge PMD leaf was just cleared, invalidated or collapsed (the pmd no longer maps it), before
    /// that change is flushed. powerpc's radix__pmdp_huge_get_and_clear, pmdp_invalidate and
    /// pmdp_collapse_flush call serialize_against_pte_lookup here; every other strategy does nothing.
    func hugePMDChanged(_ change: HugePMDChange, cpu: Int)
    func drain()

    /// Updater-side events since the last reset (IPIs, grace periods); nil fields do not apply.
    func updaterCounters() -> UpdaterCounters
    func resetUpdaterCounters()
    /// What `cpu` is waiting for, if it is stuck in this strategy (for the watchdog's message).
    func waitDescription(cpu: Int) -> String?
    /// Forced schedules (validation only; read from a third thread): why the free of the tables `writer`
    /// has retired cannot complete while `walker` stays stopped inside its window. Only a state that
    /// the walker alone can end counts: an IPI pending on its masked interrupts, a count it holds, a
    /// grace period waiting for it. nil when nothing visibly holds the free back.
    func freeHeldBack(walker: Int, writer: Int) -> String?
}

extension WalkProtection {
    public static var validationOnly: Bool { false }
    public static var sendsTLBShootdowns: Bool { false }
    public static var batchesTables: Bool { false }
    public func flushTLBOnly(cpu: Int) {}
    public func hugePMDChanged(_ change: HugePMDChange, cpu: Int) {}
    /// True if the strategy is in `bench run`'s default selection. The powerpc family stands for another
    /// architecture's history and is run by name, so the default suite stays near a minute.
    public static var inDefaultSuite: Bool { !validationOnly }
    public static var cpumaskPolicy: CPUMaskPolicy { .clearedAtSwitch }
    public static var walkersMaskInterrupts: Bool { false }
    public func retireDeferred(_ table: TableIndex, cpu: Int) {
        retire(table, cpu: cpu)
        flush(cpu: cpu)
    }
    public func cpuStarted(_ cpu: Int) {}
    public func cpuStopping(_ cpu: Int) {}
    @inline(__always) public func leafTableReached(cpu: Int) {}
    @inline(__always) public func quiescent(cpu: Int) {}
    public func enterIdle(cpu: Int) {}
    public func exitIdle(cpu: Int) {}
    public func updaterCounters() -> UpdaterCounters { UpdaterCounters() }
    public func resetUpdaterCounters() {}
    public func waitDescription(cpu: Int) -> String? { nil }
    public func freeHeldBack(walker: Int, writer: Int) -> String? { nil }

    /// One walk inside the strategy's window. The closure is inlined: no closure call in the hot path.
    @inline(__always)
    public func withWalk<R>(cpu: Int, _ body: () -> R) -> R {
        beginWalk(cpu: cpu)
        defer { endWalk(cpu: cpu) }
        return body()
    }
}

/// How a writer changed a huge PMD leaf (the hook powerpc serialized lockless walkers at).
public enum HugePMDChange: String, Sendable, CaseIterable {
    /// zap of a huge leaf by munmap or MADV_DONTNEED (pmdp_huge_get_and_clear).
    case cleared
    /// THP split (pmdp_invalidate, before the PTE table is installed).
    case invalidated
    /// THP collapse (pmdp_collapse_flush, before the PTE table is retired and the huge leaf installed).
    case collapsed
}

/// What a strategy's updater side did, for the CSV.
public struct UpdaterCounters: Sendable {
    /// Shootdown or sync IPIs sent (one per target CPU).
    public var ipisSent: UInt64?
    /// IPIs not sent because the target was in lazy TLB mode and the flush freed no table.
    public var ipisSkippedLazy: UInt64?
    /// Grace periods: call_rcu to callback, in timer ticks.
    public var gracePeriods: Histogram<UInt64>?
    /// Flushes that trimmed the cpumask (clearedLazily with lazy TLB on; nil where that does not apply).
    public var cpumaskTrims: UInt64?

    public init(ipisSent: UInt64? = nil, ipisSkippedLazy: UInt64? = nil, gracePeriods: Histogram<UInt64>? = nil,
                cpumaskTrims: UInt64? = nil) {
        self.ipisSent = ipisSent
        self.ipisSkippedLazy = ipisSkippedLazy
        self.gracePeriods = gracePeriods
        self.cpumaskTrims = cpumaskTrims
    }
}

/// Knobs a strategy may read; each says which strategies use it.
public struct ProtectionOptions: Sendable, Hashable {
    /// rcu-*: probability that allocating an mmu_table_batch fails, so the freer falls back to
    /// tlb_remove_table_one (a sync IPI to every CPU, then an immediate free).
    public var batchFailRate: Double
    /// Strategies that send TLB shootdowns: whether idle CPUs keep the mm loaded lazily (see LazyTLB).
    public var lazyTLB: LazyTLB
    /// Strategies whose cpumask policy is `clearedLazily`, with lazy TLB on: the least time between two
    /// flushes that trim the cpumask (the kernel's is one second).
    public var cpumaskTrimNanoseconds: UInt64
    /// rcu-*: CONFIG_PT_RECLAIM (x86-64, 6.14+): MADV_DONTNEED also frees the PTE tables it empties, and
    /// a gather whose batch cannot be allocated frees each table through its own call_rcu instead of
    /// the sync IPI (tlb_remove_table_one → __tlb_remove_table_one_rcu).
    public var ptReclaim: Bool

    public static let defaultCPUMaskTrimNanoseconds: UInt64 = 1_000_000_000

    public init(batchFailRate: Double = 0, lazyTLB: LazyTLB = .off,
                cpumaskTrimNanoseconds: UInt64 = ProtectionOptions.defaultCPUMaskTrimNanoseconds, ptReclaim: Bool = false) {
        self.batchFailRate = batchFailRate
        self.lazyTLB = lazyTLB
        self.cpumaskTrimNanoseconds = cpumaskTrimNanoseconds
        self.ptReclaim = ptReclaim
    }
}

/// When a CPU's bit leaves mm_cpumask. It matters where CPUs stop running the mm: with lazy TLB on,
/// an idle walker that takes a flush IPI switches to init_mm.
public enum CPUMaskPolicy: String, Sendable, Hashable {
    /// x86 before 209954cbc7d0 ("x86/mm/tlb: Update mm_cpumask lazily", late 2024): switch_mm clears
    /// the bit of the mm the CPU leaves.
    case clearedAtSwitch = "cleared-at-switch"
    /// x86 since 209954cbc7d0: the bit stays when the CPU leaves; the first flush IPI that finds the mm
    /// not loaded clears it (flush_tlb_func). TLB-only flushes skip such CPUs, except that at most once
    /// per trim interval (should_trim_cpumask: a second) one is sent to them too, so they leave.
    case clearedLazily = "cleared-lazily"
    /// powerpc: bits are only ever set; a CPU that once ran the mm receives every broadcast IPI.
    case neverCleared = "never-cleared"
}

/// What a CPU does with the mm when it goes idle, and whom a flush interrupts.
public enum LazyTLB: String, Sendable, Hashable, CaseIterable {
    /// Idle CPUs stay full members of the cpumask and take every shootdown, which wakes them.
    case off
    /// x86 (native_flush_tlb_multi): an idle CPU keeps the mm loaded and is marked lazy; flushes that
    /// free nothing skip it; flushes that free tables IPI it too, because its page walker may still
    /// speculate through the old tables, and on that IPI it switches to init_mm and leaves the cpumask.
    case on
    /// Deliberately broken, for `bench validate` only: lazy CPUs are skipped even when tables are
    /// freed. A lazy CPU still walking the mm then reads freed tables.
    case skipEvenWhenFreeing = "skip-even-when-freeing"

    /// The values `--lazy-tlb` accepts.
    public static let commandLineValues: [LazyTLB] = [.off, .on]
}

/// What a strategy is built from.
public struct ProtectionContext: Sendable {
    public let mm: AddressSpace
    /// Simulated CPUs in the run (walkers + writers + one for set-up and tear-down).
    public let cpuCount: Int
    public let options: ProtectionOptions
    public let timeBase: TimeBase

    public init(mm: AddressSpace, cpuCount: Int, options: ProtectionOptions = ProtectionOptions(), timeBase: TimeBase = .fallback) {
        self.mm = mm
        self.cpuCount = cpuCount
        self.options = options
        self.timeBase = timeBase
    }
}
