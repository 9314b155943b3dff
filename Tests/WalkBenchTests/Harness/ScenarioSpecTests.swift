import Foundation
import Testing
@testable import WalkBench

@Suite struct ScenarioSpecTests {
    @Test func roundTripsThroughJSON() throws {
        var w = Workloads.named("zap-churn")!
        w.name = "custom"
        w.mappedBytes = 8 << 20
        var s = Scenario(geometry: Geometry.named("arm64-4k-3l")!, workload: w, strategy: "irq-disable", walker: "callback",
                         readers: 2, writers: 1, oracle: false,
                         walkOptions: WalkOptions(span: 4096, takeReference: false, extraWork: 7),
                         timing: Timing(duration: 0.3, warmup: 0.01, repetitions: 4, batch: 128), seed: 99)
        s.dispatch = "c-retpoline"
        s.protectionOptions = ProtectionOptions(batchFailRate: 0.25, lazyTLB: .on)
        s.windowDelayNanoseconds = 300
        let spec = ScenarioSpec(s)
        let back = try JSONDecoder().decode(ScenarioSpec.self, from: JSONEncoder().encode(spec))
        #expect(back == spec)
        let rebuilt = try back.scenario()
        #expect(ScenarioSpec(rebuilt) == spec)
        #expect(rebuilt.label == s.label)
        #expect(rebuilt.workload.readerIdleNanoseconds == w.readerIdleNanoseconds)
    }

    @Test func unknownNamesAreRefused() {
        var spec = ScenarioSpec(Scenario(geometry: Geometry.presets[0], workload: Workloads.builtIn[0], strategy: "none",
                                         walker: "lookup", readers: 1, writers: 0))
        spec.strategy = "bogus"
        #expect(throws: ScenarioSpec.Invalid.self) { _ = try spec.scenario() }
    }

    @Test func revisionsComeFromTheRegistries() {
        let s = Scenario(geometry: Geometry.presets[0], workload: Workloads.builtIn[0], strategy: "rcu-memb",
                         walker: "lookup", readers: 1, writers: 0)
        #expect(s.revisions.strategy == RcuMembProtection.revision)
        #expect(s.revisions.walker == LookupWalker.revision)
        #expect(s.revisions.workload == ReadMostly.revision)
    }
}
