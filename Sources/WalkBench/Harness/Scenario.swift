/// One cell of the matrix: everything that decides what a row measured.
public struct Scenario: Sendable {
    public var geometry: Geometry
    public var workload: Workload
    public var strategy: String
    public var walker: String
    /// How the callback walker's hooks are called; "n/a" for walkers without hooks.
    public var dispatch: String = Dispatch.none
    public var readers: Int
    public var writers: Int
    public var oracle: Bool
    public var walkOptions: WalkOptions
    public var timing: Timing
    /// Seeds every thread's generator (thread i uses seed + i), so what each run asks for is reproducible.
    public var seed: UInt64
    public var protectionOptions = ProtectionOptions()
    /// Validation: spin this long inside each walk, between loading the pointer to the last-level table
    /// and reading it (only with the oracle on).
    public var windowDelayNanoseconds: UInt64 = 0
    /// Validation (seed 001, the GRU driver): walkers walk this mm while running another, so their CPUs
    /// are not in its cpumask.
    public var foreignWalkers = false
    /// Validation (the reason behind x86's freed_tables rule): walkers run the mm lazily, so their CPUs
    /// are in its cpumask and marked lazy while they walk, as a lazy CPU's page walker may speculate
    /// through tables it still has loaded.
    public var lazyWalkers = false

    public init(geometry: Geometry, workload: Workload, strategy: String, walker: String, readers: Int, writers: Int,
                oracle: Bool = true, walkOptions: WalkOptions = WalkOptions(), timing: Timing = Timing(), seed: UInt64 = 0x5EED) {
        self.geometry = geometry
        self.workload = workload
        self.strategy = strategy
        self.walker = walker
        self.readers = readers
        self.writers = writers
        self.oracle = oracle
        self.walkOptions = walkOptions
        self.timing = timing
        self.seed = seed
    }

    public var label: String {
        let lazy = lazyTLBApplies && protectionOptions.lazyTLB != .off ? " lazy-tlb=\(protectionOptions.lazyTLB.rawValue)" : ""
        let hooks = dispatch == Dispatch.none ? "" : "/" + dispatch
        let reclaim = batchFailRateApplies && protectionOptions.ptReclaim ? " pt-reclaim" : ""
        return "\(workload.name) \(strategy)\(lazy)\(reclaim) \(walker)\(hooks) r\(readers) w\(writers) \(geometry.name)"
    }

    /// The revisions of the strategy, walker and workload kind: rows of different revisions measure
    /// different things and are never compared.
    public var revisions: (strategy: Int, walker: Int, workload: Int) {
        (Strategies.all.first { $0.name == strategy }?.revision ?? 0,
         // A callback walker is registered once per dispatch kind, and each kind has its own revision.
         Walkers.all.first { $0.name == walker && $0.dispatch == dispatch }?.revision
            ?? Walkers.all.first { $0.name == walker }?.revision ?? 0,
         workload.kindType.revision)
    }

    /// True when the strategy sends TLB shootdowns, so the lazy-TLB option changes what it does.
    public var lazyTLBApplies: Bool { Strategies.all.first { $0.name == strategy }?.sendsTLBShootdowns ?? false }
    public var batchFailRateApplies: Bool { Strategies.all.first { $0.name == strategy }?.batchesTables ?? false }
    /// True when the strategy updates mm_cpumask lazily and lazy TLB is on, so the trim interval matters.
    public var cpumaskTrimApplies: Bool {
        lazyTLBApplies && protectionOptions.lazyTLB != .off
            && Strategies.all.first { $0.name == strategy }?.cpumaskPolicy == .clearedLazily
    }
}

public struct Timing: Sendable, Hashable {
    /// Seconds measured per repetition.
    public var duration: Double
    /// Seconds run before each repetition's measurement starts.
    public var warmup: Double
    public var repetitions: Int
    /// Walks between two clock reads.
    public var batch: Int

    public init(duration: Double = 0.2, warmup: Double = 0.05, repetitions: Int = 3, batch: Int = 256) {
        self.duration = duration
        self.warmup = warmup
        self.repetitions = repetitions
        self.batch = batch
    }
}

/// Bounds of the numeric options, shared by the command line and the callgrind child.
public enum RunLimits {
    /// --extra-work: enough to double the slowest walk, not enough to hide a hang.
    public static let extraWorkMax: UInt64 = 1_000_000
    /// --processes
    public static let processesMax = 100
}
