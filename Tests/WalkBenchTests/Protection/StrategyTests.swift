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

    @Test(arguments: safeStrategies, [UnmapStorm.preset, ThpChurn.preset])
    func safeStrategyShowsNoUseAfterFree(_ strategy: String, _ workload: Workload) throws {
        let m = try Self.stress(strategy, workload: workload)
        #expect(m.walks > 0)
        #expect(m.writerOps > 0)
        #expect(m.tablesFreed > 0, "the workload must free tables for the check to mean anything")
        #expect(m.uafDetected == 0)
    }

    /// Bounded: up to ten 0.3 s rounds; failing here means the oracle (or the workload) went blind.
    @Test func noneShowsUseAfterFree() throws {
        var fast = UnmapStorm.preset
        fast.writerDelayNanoseconds = 0
        var seen: UInt64 = 0
        for _ in 0..<10 where seen == 0 {
            seen += try Self.stress(NoProtection.name, workload: fast, readers: 1).uafDetected
        }
        #expect(seen > 0)
    }

    @Test func registryNamesAreUniqueAndIncludeTheBaselines() {
        let names = Strategies.names
        #expect(Set(names).count == names.count)
        #expect(names.contains("none") && names.contains("mmap-lock"))
        #expect(!Strategies.all.first { $0.name == "none" }!.guaranteesSafety)
    }
}
