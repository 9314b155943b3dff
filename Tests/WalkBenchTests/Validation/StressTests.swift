import Testing
@testable import WalkBench

@Suite struct StressTests {
    static let safe = Strategies.all.filter { $0.guaranteesSafety && !$0.validationOnly }.map(\.name)

    /// Across the whole run: every geometry for each strategy, every walker and dispatch kind at least
    /// once, and oversubscribed cells among them.
    @Test func planCoversEveryGeometryAndWalker() {
        let cells = Stress.plan(strategies: Self.safe, cpus: 2)
        for s in Self.safe {
            #expect(Set(cells.filter { $0.scenario.strategy == s }.map(\.scenario.geometry.name)) == Set(Geometry.presets.map(\.name)), "\(s)")
        }
        let walkers = Set(cells.map { "\($0.scenario.walker)/\($0.scenario.dispatch)" })
        #expect(walkers == Set(Walkers.all.map { "\($0.name)/\($0.dispatch)" }))
        #expect(cells.contains { $0.scenario.readers + $0.scenario.writers > 2 })
        #expect(cells.allSatisfy { $0.scenario.workload.writerDelayNanoseconds == 0 && $0.scenario.oracle })
    }

    /// The count stress reports is live: under writers that free tables, some frees happen while a walk
    /// is open (none's walkers never wait, so they are open most of the time).
    @Test func freesDuringOpenWalksAreCounted() throws {
        let cell = try #require(Stress.plan(strategies: [NoProtection.name], cpus: 2).first)
        let all = try StrategyTests.untilPressure(enough: { $0.contains { ($0.tablesFreedDuringWalks ?? 0) > 0 } }) {
            var s = cell.scenario
            s.timing = Timing(duration: 0.2, warmup: 0, repetitions: 1)
            return try StrategyTests.runner.run(s)[0]
        }
        #expect(all.contains { ($0.tablesFreedDuringWalks ?? 0) > 0 })
        #expect(all.allSatisfy { ($0.tablesFreedDuringWalks ?? 0) <= $0.tablesFreed })
    }
}
