import Testing
@testable import WalkBench

/// The expected-UNSAFE scenarios must be caught, with the window delay making the race land every time.
@Suite(.serialized) struct ValidationTests {
    /// Each harness cell runs until it has the pressure its verdict needs (a detection, for a cell
    /// expected UNSAFE), within `pressureSeconds`: other suites share the two CPUs, and a busy machine
    /// makes this slower, not wrong. The forced schedules reach these verdicts without threads racing
    /// at all (ForcedScheduleTests); these check the randomized matrix.
    static let settings = Validation.Settings(duration: 0.3, windowDelayNanoseconds: 2000, litmusRounds: 5_000_000, litmusSeconds: 30,
                                              pressureSeconds: 120)

    func outcome(_ scenario: String, _ strategy: String) throws -> Validation.Outcome {
        let cells = Validation.cells(scenarios: [scenario], strategies: [strategy])
        return try Self.run(try #require(cells.first))
    }

    static func run(_ cell: Validation.Cell) throws -> Validation.Outcome {
        try Validation.run(cell, runner: StrategyTests.runner, settings: Self.settings)
    }

    @Test func earlyDecrementIsCaught() throws {
        let o = try outcome("early-dec", CountedEarlyDecProtection.name)
        #expect(o.cell.expected == .unsafe)
        #expect(o.observation.useAfterFree > 0)
        #expect(o.matches)
    }

    /// The 2019 series' count without the interrupt mask it kept protects nothing.
    @Test func countWithoutTheInterruptMaskIsCaught() throws {
        let o = try outcome("ppc-count-only", PpcCountedIrqOnProtection.name)
        #expect(o.cell.expected == .unsafe)
        #expect(o.observation.useAfterFree > 0)
        #expect(o.matches)
    }

    @Test func foreignWalkerUnderIrqDisableIsCaught() throws {
        let o = try outcome("foreign-mm", IrqDisableProtection.name)
        #expect(o.observation.useAfterFree > 0)
        #expect(o.matches)
    }

    /// x86's freed_tables rule: a free that skips lazy CPUs lets a lazy CPU's walker read a freed table.
    @Test func lazyCPUsSkippedWhenTablesAreFreedAreCaught() throws {
        let cells = Validation.cells(scenarios: ["lazy-tlb"])
        #expect(cells.count == 3)
        let lazyWalkerCells = cells.filter { $0.walker.contains("lazy walkers") }
        #expect(lazyWalkerCells.count == 2)
        for cell in lazyWalkerCells {
            let o = try Self.run(cell)
            #expect(o.matches, "\(cell.walker): \(o.verdict)")
            #expect(cell.expected == (cell.walker.contains(LazyTLB.skipEvenWhenFreeing.rawValue) ? .unsafe : .safe))
        }
    }

    @Test func safeCellsReportSafeOnlyUnderPressure() throws {
        let o = try outcome("unmap-storm", IrqDisableProtection.name)
        #expect(o.observation.tablesFreed ?? 0 > 0)
        // Random threads never prove safety: the verdict says what was seen, under pressure.
        #expect(o.verdict.hasPrefix("not observed in "), "\(o.verdict)")
        #expect(o.matches)
    }

    @Test func anUnsafeExpectationThatSeesNothingIsNotCalledSafe() {
        let cell = Validation.cells(scenarios: ["early-dec"]).first!
        let quiet = Validation.Outcome(cell: cell, observation: .init(useAfterFree: 0, trials: 10, unit: "walks", tablesFreed: 5))
        #expect(!quiet.matches)
        #expect(quiet.verdict == "not observed in 10 walks")
        let idle = Validation.Outcome(cell: cell, observation: .init(useAfterFree: 0, trials: 10, unit: "walks", tablesFreed: 0))
        #expect(!idle.matches && idle.verdict.hasPrefix("NO PRESSURE"))
        #expect(!idle.contradicts, "a cell without pressure is undecided, not a mismatch")
    }

    @Test func everyStrategyAndScenarioIsCovered() {
        let cells = Validation.cells()
        for s in Strategies.all where !s.validationOnly {
            #expect(cells.contains { $0.strategy == s.name && $0.scenario == "unmap-storm" })
            #expect(cells.contains { $0.strategy == s.name && $0.scenario == "thp-churn" })
        }
        for scenario in Validation.scenarios.map(\.name) where scenario != "rcu-fallback" || Strategies.names.contains("rcu-memb") {
            #expect(cells.contains { $0.scenario == scenario }, "scenario \(scenario) has no cell")
        }
    }
}
