import Testing
@testable import WalkBench

@Suite(.serialized) struct RunnerTests {
    @Test func tinyScenarioMeasuresAndTearsDown() throws {
        let s = Scenario(geometry: .x86_64_4level, workload: ReadMostly.preset, strategy: "none", walker: "lookup",
                         readers: 1, writers: 1, timing: Timing(duration: 0.1, warmup: 0.02, repetitions: 2))
        let results = try StrategyTests.runner.run(s)
        #expect(results.count == 2)
        #expect(results.map(\.repetition) == [1, 2])
        for m in results {
            #expect(m.walks > 0)
            #expect(m.walkLatency.totalCount > 0)
            #expect(m.writerOps > 0)
            #expect(m.tablesFreed == 0)  // read-mostly writers free nothing
            #expect(m.measuredSeconds > 0.05)
            #expect(!m.pinning.isEmpty)
        }
    }

    @Test func vmaMustFitTheAddressSpace() {
        var w = ReadMostly.preset
        w.mappedBytes = 1 << 40
        if case .success = Runner.vma(for: w, geometry: .arm64_4k_3level) { Issue.record("1 TiB cannot fit a 39-bit space") }
        if case .failure = Runner.vma(for: w, geometry: .x86_64_4level) { Issue.record("1 TiB fits a 48-bit space") }
    }

    @Test func rowCarriesEveryParameter() throws {
        let env = RunEnvironment.capture()
        let tb = StrategyTests.runner.timeBase
        let s = Scenario(geometry: .s390_3level, workload: UnmapStorm.preset, strategy: "mmap-lock", walker: "lookup",
                         readers: 2, writers: 1, oracle: false, timing: Timing(duration: 0.05, warmup: 0, repetitions: 1))
        let m = try StrategyTests.runner.run(s)[0]
        let row = ResultRow.make(run: RunInfo(environment: env, timeBase: tb), scenario: s, measurement: m)
        #expect(row["geometry"] == "s390-3l")
        #expect(row["strategy"] == "mmap-lock")
        #expect(row["readers"] == "2" && row["writers"] == "1")
        #expect(row["oracle"] == "off")
        #expect(row["uaf_detected"] == nil)  // not checked: empty, never a reassuring zero
        #expect(row["build"] == RunEnvironment.buildConfiguration)
        #expect(row.fields().count == Columns.all.count)
    }
}
