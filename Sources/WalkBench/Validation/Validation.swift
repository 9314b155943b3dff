/// `bench validate`: does every strategy keep its promise under writer pressure, and does the oracle
/// see the bugs it must see?
///
/// Each cell runs a scenario and compares the oracle's verdict with the expected one. SAFE is only ever
/// the verdict of a strategy that promises safety and showed no use-after-free while tables were being
/// freed; a cell expected to be UNSAFE that shows nothing is "not observed", never SAFE.
public enum Validation {
    public enum Verdict: String, Sendable { case safe = "SAFE", unsafe = "UNSAFE" }

    /// A named, documented scenario of the matrix.
    public struct ScenarioInfo: Sendable {
        public let name: String
        public let summary: String
    }

    public static let scenarios: [ScenarioInfo] = [
        ScenarioInfo(name: "unmap-storm", summary: "every strategy × walker while writers unmap and repopulate (tables freed continuously); safe strategies SAFE, none UNSAFE"),
        ScenarioInfo(name: "thp-churn", summary: "every strategy × walker while writers collapse (retiring PTE tables) and split; safe strategies SAFE, none UNSAFE"),
        ScenarioInfo(name: "foreign-mm", summary: "seed 001 (GRU): walkers whose CPUs are not in the mm's cpumask; irq-disable (x86 to 6.14) UNSAFE (the shootdown skips them), irq-disable-rcu and invlpgb (x86 6.15+) and RCU SAFE"),
        ScenarioInfo(name: "missing-barrier", summary: "counted walker publishing with a plain store and no fence (store buffering litmus): UNSAFE; the fenced forms SAFE"),
        ScenarioInfo(name: "early-dec", summary: "counted walker that decrements before its last table read (the series' v1 bug): UNSAFE"),
        ScenarioInfo(name: "rcu-fallback", summary: "batch allocation always fails, so munmap's tables are freed after a sync IPI: rcu_read_lock-only walkers UNSAFE, IRQ-off walkers SAFE; THP collapse frees through pte_free_defer, which has no fallback, and PT_RECLAIM's fallback is call_rcu: rcu_read_lock-only walkers SAFE in both"),
        ScenarioInfo(name: "ppc-count-only", summary: "the 2019 powerpc series' walker count kept, its interrupt mask dropped: UNSAFE (the count only decided whether to send the IPI)"),
        ScenarioInfo(name: "lazy-tlb", summary: "x86's freed_tables rule: irq-disable with lazy TLB, walkers on CPUs lazy in the mm (their page walkers speculate through it) SAFE, lazy CPUs skipped even when tables are freed UNSAFE; walkers idling lazily under zap-churn SAFE"),
        ScenarioInfo(name: S390Folding.scenario, summary: "seed 000: 3-level s390 walk across a 2 GiB region-third boundary; pXd passed by value (pudp++ walks the stack) UNSAFE, pXd_offset_lockless SAFE"),
        ScenarioInfo(name: HighPTEKmap.scenario, summary: "seed 002: CONFIG_HIGHPTE kmap_local slot stack; nested pte_offset_map/pte_unmap SAFE, two PTE tables unmapped FIFO UNSAFE"),
    ]

    public struct Cell: Sendable {
        public let scenario: String
        public let strategy: String
        public let walker: String
        public let expected: Verdict
        let run: @Sendable (Runner, Settings) throws -> Observation
    }

    public struct Settings: Sendable {
        /// Seconds per cell that runs the harness.
        public var duration: Double
        /// Spin inside each walk before its last-level table read, to widen every race window.
        public var windowDelayNanoseconds: UInt64
        /// Bound on the store-buffering litmus.
        public var litmusRounds: Int
        public var litmusSeconds: Double
        /// A harness cell runs rounds of `duration` until it has the pressure its verdict needs (walks
        /// done and tables freed; for a cell expected UNSAFE, a detection), for at most this long.
        public var pressureSeconds: Double

        public init(duration: Double = 0.5, windowDelayNanoseconds: UInt64 = 300, litmusRounds: Int = 5_000_000, litmusSeconds: Double = 20,
                    pressureSeconds: Double = 30) {
            self.pressureSeconds = pressureSeconds
            self.duration = duration
            self.windowDelayNanoseconds = windowDelayNanoseconds
            self.litmusRounds = litmusRounds
            self.litmusSeconds = litmusSeconds
        }
    }

    public struct Observation: Sendable {
        public var useAfterFree: UInt64
        /// Walks (harness cells) or rounds (litmus).
        public var trials: UInt64
        public var unit: String
        /// Tables freed while walkers walked; nil where the cell is not a harness run.
        public var tablesFreed: Int?
        /// One thread, every case enumerated (the seed scenarios' walk-correctness checks): no
        /// schedule to be lucky with, so an absence is a proof.
        public var exhaustive = false

        public init(useAfterFree: UInt64, trials: UInt64, unit: String, tablesFreed: Int?, exhaustive: Bool = false) {
            self.useAfterFree = useAfterFree
            self.trials = trials
            self.unit = unit
            self.tablesFreed = tablesFreed
            self.exhaustive = exhaustive
        }
    }

    public struct Outcome: Sendable {
        public let cell: Cell
        public let observation: Observation
        /// What the oracle saw, in words: UNSAFE (n), or none seen in N walks. Randomized threads can
        /// show a use-after-free but never prove its absence: only forced schedules say SAFE.
        public var verdict: String {
            if observation.useAfterFree > 0 { return "UNSAFE (\(observation.useAfterFree))" }
            if lacksPressure { return "NO PRESSURE (no table freed or no walk)" }
            if observation.exhaustive { return "SAFE (every case checked)" }
            return "not observed in \(observation.trials) \(observation.unit)"
        }
        /// A harness cell that never had tables freed under walkers: it says nothing either way.
        public var lacksPressure: Bool {
            guard let freed = observation.tablesFreed else { return false }
            return freed == 0 || observation.trials == 0
        }
        /// The observation agrees with the expectation (a cell without pressure agrees with nothing).
        public var matches: Bool {
            if lacksPressure { return false }
            return (observation.useAfterFree > 0) == (cell.expected == .unsafe)
        }
        /// The observation contradicts the expectation (a cell without pressure contradicts nothing).
        public var contradicts: Bool { !lacksPressure && !matches }
    }

    /// Every cell, or those of the named scenarios and strategies.
    public static func cells(scenarios only: [String]? = nil, strategies: [String]? = nil) -> [Cell] {
        var cells: [Cell] = []
        let known = Set(Strategies.names)
        func add(_ scenario: String, _ strategy: String, _ walker: String, _ expected: Verdict,
                 _ run: @escaping @Sendable (Runner, Settings) throws -> Observation) {
            guard only?.contains(scenario) ?? true, strategies?.contains(strategy) ?? true else { return }
            cells.append(Cell(scenario: scenario, strategy: strategy, walker: walker, expected: expected, run: run))
        }
        func harness(_ workload: Workload, _ strategy: String, _ walker: String, dispatch: String = Dispatch.none,
                     foreign: Bool = false, batchFailRate: Double = 0, ptReclaim: Bool = false, lazyTLB: LazyTLB = .off, lazyWalkers: Bool = false,
                     minimumWindowDelay: UInt64 = 0, batch: Int = 256,
                     expected: Verdict) -> @Sendable (Runner, Settings) throws -> Observation {
            { runner, settings in
                var s = Scenario(geometry: .x86_64_4level, workload: workload, strategy: strategy, walker: walker,
                                 readers: 1, writers: 1, timing: Timing(duration: settings.duration, warmup: 0.05, repetitions: 1, batch: batch))
                s.dispatch = dispatch
                s.windowDelayNanoseconds = max(settings.windowDelayNanoseconds, minimumWindowDelay)
                s.foreignWalkers = foreign
                s.protectionOptions.batchFailRate = batchFailRate
                s.protectionOptions.ptReclaim = ptReclaim
                s.protectionOptions.lazyTLB = lazyTLB
                s.lazyWalkers = lazyWalkers
                // Rounds until the cell has what its verdict needs, within a bound: a busy machine makes
                // it slower, not undecided (unless it starves the cell for the whole bound).
                var total = Observation(useAfterFree: 0, trials: 0, unit: "walks", tablesFreed: 0)
                let until = TimeBase.monotonicNanoseconds() &+ UInt64(settings.pressureSeconds * 1e9)
                repeat {
                    let m = try runner.run(s)[0]
                    // A walk that handed over a freed page is a use-after-free as much as a freed table's read.
                    total.useAfterFree &+= m.uafDetected &+ m.pageUAFDetected
                    total.trials &+= m.walks
                    total.tablesFreed! += m.tablesFreed
                    let pressured = total.trials > 0 && total.tablesFreed! > 0
                    if pressured && (expected == .safe || total.useAfterFree > 0) { break }
                } while TimeBase.monotonicNanoseconds() < until
                return total
            }
        }

        for workload in [UnmapStorm.preset, ThpChurn.preset] {
            for s in Strategies.all where !s.validationOnly {
                // Validation-only walkers have their forced cases; the new ops sets' tables are walked by
                // the same loops for every dispatch, so two kinds (Swift and C) stand for all.
                for w in Walkers.all where !w.validationOnly && PTELockRule.refusal(walker: w.name, strategy: s.name) == nil
                    && (!w.name.hasPrefix("callback-") || w.dispatch == "direct" || w.dispatch == "c-indirect") {
                    let label = w.dispatch == Dispatch.none ? w.name : "\(w.name)/\(w.dispatch)"
                    let expected: Verdict = s.guaranteesSafety ? .safe : .unsafe
                    add(workload.name, s.name, label, expected, harness(workload, s.name, w.name, dispatch: w.dispatch, expected: expected))
                }
            }
        }
        let storm = UnmapStorm.preset
        // At 300 ns the foreign walker's race showed anywhere from 3 to 126 times in 0.5 s; 2 µs makes it
        // land hundreds of times, so the verdict does not depend on luck.
        add("foreign-mm", IrqDisableProtection.name, LookupWalker.name, .unsafe,
            harness(storm, IrqDisableProtection.name, LookupWalker.name, foreign: true, minimumWindowDelay: 2000, expected: .unsafe))
        for rcu in ["rcu-memb", "rcu-qsbr", IrqDisableRcuFreeProtection.name, InvlpgbProtection.name] where known.contains(rcu) {
            add("foreign-mm", rcu, LookupWalker.name, .safe,
                harness(storm, rcu, LookupWalker.name, foreign: true, minimumWindowDelay: 2000, expected: .safe))
        }
        // Lazy CPUs that walk: the freeing shootdown must still reach them. Same 2 µs window as foreign-mm,
        // whose race (a walker the shootdown skips) this is.
        add("lazy-tlb", IrqDisableProtection.name, "\(LookupWalker.name), lazy-tlb=on, lazy walkers", .safe,
            harness(storm, IrqDisableProtection.name, LookupWalker.name, lazyTLB: .on, lazyWalkers: true, minimumWindowDelay: 2000, expected: .safe))
        add("lazy-tlb", IrqDisableProtection.name, "\(LookupWalker.name), lazy-tlb=\(LazyTLB.skipEvenWhenFreeing.rawValue), lazy walkers", .unsafe,
            harness(storm, IrqDisableProtection.name, LookupWalker.name, lazyTLB: .skipEvenWhenFreeing, lazyWalkers: true,
                    minimumWindowDelay: 2000, expected: .unsafe))
        add("lazy-tlb", IrqDisableProtection.name, "\(LookupWalker.name), lazy-tlb=on, idle walkers (\(ZapChurn.name))", .safe,
            harness(ZapChurn.preset, IrqDisableProtection.name, LookupWalker.name, lazyTLB: .on, expected: .safe))
        let litmus: [(String, StoreBufferLitmus.Publish, Verdict)] = [
            (litmusOnlyStrategies[0].name, .plainStoreNoFence, .unsafe),
            (CountedPerCPUProtection.name, .plainStoreThenFence, .safe),
            (CountedProtection.name, .atomicIncrementThenFence, .safe),
        ]
        for (name, publish, expected) in litmus {
            add("missing-barrier", name, "litmus", expected) { _, settings in
                let r = try StoreBufferLitmus.run(publish, maxRounds: settings.litmusRounds, maxSeconds: settings.litmusSeconds,
                                                  stopAfter: expected == .unsafe ? 1 : nil)
                return Observation(useAfterFree: UInt64(r.useAfterFree), trials: UInt64(r.rounds), unit: "rounds", tablesFreed: nil)
            }
        }
        add("early-dec", CountedEarlyDecProtection.name, LookupWalker.name, .unsafe,
            harness(storm, CountedEarlyDecProtection.name, LookupWalker.name, expected: .unsafe))
        if known.contains("rcu-memb") {
            // The sync IPI must land while a walker holds the old pmd. At 5 µs the race showed 0 to 9 times
            // in 0.5 s on a noisy day (310 on another); 20 µs makes it land 150 to 215 times.
            add("rcu-fallback", "rcu-memb", LookupWalker.name, .unsafe,
                harness(storm, "rcu-memb", LookupWalker.name, batchFailRate: 1, minimumWindowDelay: 20_000, expected: .unsafe))
        }
        if known.contains("rcu-memb") {
            // PT_RECLAIM: the no-batch path is call_rcu too, so the same walkers are safe without a batch.
            add("rcu-fallback", "rcu-memb", "\(LookupWalker.name), pt-reclaim", .safe,
                harness(storm, "rcu-memb", LookupWalker.name, batchFailRate: 1, ptReclaim: true, minimumWindowDelay: 20_000, expected: .safe))
        }
        if known.contains("rcu-memb") {
            // Collapse never meets the fallback (pte_free_defer): the same walkers are safe against it.
            add("rcu-fallback", "rcu-memb", "\(LookupWalker.name), \(ThpChurn.name) (collapse: pte_free_defer)", .safe,
                harness(ThpChurn.preset, "rcu-memb", LookupWalker.name, batchFailRate: 1, minimumWindowDelay: 20_000, expected: .safe))
        }
        // The 2019 series' count decided whether to send the IPI; it never replaced the interrupt mask.
        // Walkers that count with interrupts on are held back by nothing, but the table still waits for
        // the emulated grace period (a reclaimer thread's IPI round: about 6 ms here, where it waits for
        // a CPU), so the window must outlast it: 20 ms.
        add("ppc-count-only", PpcCountedIrqOnProtection.name, LookupWalker.name, .unsafe,
            harness(storm, PpcCountedIrqOnProtection.name, LookupWalker.name, minimumWindowDelay: 20_000_000, batch: 4, expected: .unsafe))
        if known.contains("rcu-memb-irq") {
            add("rcu-fallback", "rcu-memb-irq", LookupWalker.name, .safe,
                harness(storm, "rcu-memb-irq", LookupWalker.name, batchFailRate: 1, minimumWindowDelay: 20_000, expected: .safe))
        }
        // Walk-correctness scenarios: deterministic, one CPU, no writers, so strategy "none".
        add(S390Folding.scenario, NoProtection.name, S390Folding.byValueWalker, .unsafe) { _, _ in try S390Folding.observe(.byValue) }
        add(S390Folding.scenario, NoProtection.name, S390Folding.locklessWalker, .safe) { _, _ in try S390Folding.observe(.lockless) }
        add(HighPTEKmap.scenario, NoProtection.name, HighPTEKmap.nestedWalker, .safe) { runner, _ in
            try HighPTEKmap.observe(.nested, timeBase: runner.timeBase)
        }
        add(HighPTEKmap.scenario, NoProtection.name, HighPTEKmap.fifoWalker, .unsafe) { runner, _ in
            try HighPTEKmap.observe(.fifoUnmap, timeBase: runner.timeBase)
        }
        return cells
    }

    /// Strategy names that exist only inside the store-buffering litmus (no walker runs them): `bench
    /// validate --strategies` accepts them and `bench list` shows them with the validation scenarios.
    public static let litmusOnlyStrategies: [(name: String, summary: String)] = [
        ("counted-nofence", "missing-barrier litmus only: a counted walker that publishes its count with a plain store and no fence before reading the table (UNSAFE expected)"),
    ]

    /// Every name `--strategies` may use with validate: the registry's plus the litmus-only variants.
    public static var strategyNames: [String] { Strategies.names + litmusOnlyStrategies.map(\.name) }

    public static func run(_ cell: Cell, runner: Runner, settings: Settings) throws -> Outcome {
        Outcome(cell: cell, observation: try cell.run(runner, settings))
    }
}
