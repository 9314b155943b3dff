import Testing
@testable import WalkBench

/// Each strategy under real threads and writer pressure: the ones that promise safety show no
/// use-after-free; `none` shows some (else the oracle is blind).
@Suite(.serialized) struct StrategyTests {
    static let runner = Runner(timeBase: TimeBase.calibrate(invariantTSC: RunEnvironment.capture().invariantTSC, window: 5_000_000))

    static func stress(_ strategy: String, workload: Workload, readers: Int = 2, writers: Int = 1, seconds: Double = 0.3) throws -> RepetitionResult {
        let s = Scenario(geometry: .x86_64_4level, workload: workload, strategy: strategy, walker: LookupWalker.name,
                         readers: readers, writers: writers,
                         timing: Timing(duration: seconds, warmup: 0, repetitions: 1))
        return try runner.run(s)[0]
    }

    static var safeStrategies: [String] { Strategies.all.filter(\.guaranteesSafety).map(\.name) }

    /// Runs rounds until together they did what a check needs (`enough`), or until `seconds` passed:
    /// a loaded machine makes this slower, not wrong. The deadline is for a broken build, not a busy one.
    static func untilPressure(seconds: Double = 120, enough: ([RepetitionResult]) -> Bool,
                              _ round: () throws -> RepetitionResult) rethrows -> [RepetitionResult] {
        var all: [RepetitionResult] = []
        let until = TimeBase.monotonicNanoseconds() &+ UInt64(seconds * 1e9)
        repeat { all.append(try round()) } while !enough(all) && TimeBase.monotonicNanoseconds() < until
        return all
    }

    /// Walks done, writer operations done, tables freed: the pressure a safety check needs.
    static func pressured(_ all: [RepetitionResult]) -> Bool {
        all.contains { $0.walks > 0 } && all.contains { $0.writerOps > 0 } && all.contains { $0.tablesFreed > 0 }
    }

    @Test(arguments: safeStrategies, [UnmapStorm.preset, ThpChurn.preset])
    func safeStrategyShowsNoUseAfterFree(_ strategy: String, _ workload: Workload) throws {
        let all = try Self.untilPressure(enough: Self.pressured) { try Self.stress(strategy, workload: workload) }
        #expect(Self.pressured(all), "the workload must walk and free tables for the check to mean anything")
        #expect(all.reduce(0) { $0 + $1.uafDetected } == 0)
    }

    /// The randomized view: real threads, no forced schedule, until the oracle has seen a use-after-free
    /// (the forced schedules prove it deterministically; this proves the stress path is not blind).
    @Test func noneShowsUseAfterFree() throws {
        var fast = UnmapStorm.preset
        fast.writerDelayNanoseconds = 0
        let all = try Self.untilPressure(enough: { $0.contains { $0.uafDetected > 0 } }) {
            try Self.stress(NoProtection.name, workload: fast, readers: 1)
        }
        #expect(all.contains { $0.uafDetected > 0 })
    }

    @Test func registryNamesAreUniqueAndIncludeTheBaselines() {
        let names = Strategies.names
        #expect(Set(names).count == names.count)
        #expect(names.contains("none") && names.contains("mmap-lock"))
        #expect(!Strategies.all.first { $0.name == "none" }!.guaranteesSafety)
    }
}
