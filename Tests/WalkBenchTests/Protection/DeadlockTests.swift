import Testing
@testable import WalkBench

/// More threads than cores (4 walkers + 2 writers on 2 CPUs): every strategy that makes a freer wait
/// (for IPI acks, counts, flags, grace periods) must still finish. A hang fails through the runner's
/// watchdog, which names the stuck CPU and what it waits for, instead of hanging the test.
@Suite(.serialized) struct DeadlockTests {
    static var waitingStrategies: [String] { Strategies.all.filter { $0.guaranteesSafety && $0.name != "mmap-lock" }.map(\.name) }

    @Test(arguments: waitingStrategies)
    func oversubscribedRunFinishes(_ strategy: String) throws {
        let s = Scenario(geometry: .x86_64_4level, workload: UnmapStorm.preset, strategy: strategy, walker: LookupWalker.name,
                         readers: 4, writers: 2, timing: Timing(duration: 0.3, warmup: 0, repetitions: 1))
        let m = try StrategyTests.runner.run(s)[0]
        #expect(m.walks > 0)
        #expect(m.uafDetected == 0)
        #expect(m.pinning.contains("6 threads on"))
    }
}
