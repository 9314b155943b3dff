import Testing
@testable import WalkBench

/// WalkSession is what the package-benchmark suite measures: it must walk what bench run walks, on
/// the calling thread, under each strategy's window, and leave nothing behind.
@Suite("WalkSession", .serialized)
struct WalkSessionTests {
    /// bench run's read-mostly cell for these names, on an 8 MiB mapping (the preset's 1 GiB takes
    /// seconds to populate in a debug build).
    func scenario(_ strategy: String, walker: String = LookupWalker.name, dispatch: String = Dispatch.none) throws -> Scenario {
        var s = try WalkSession.scenario(strategy: strategy, walker: walker, dispatch: dispatch)
        s.workload.mappedBytes = 8 << 20
        return s
    }

    @Test("a lookup under each strategy's window finds its page every time; close leaves no table behind",
          arguments: ["none", "irq-disable", "counted", "counted-percpu", "rcu-memb", "rcu-qsbr"])
    func lookupsUnderEachWindow(strategy: String) throws {
        let session = try WalkSession(scenario(strategy))
        // More than one batch of 256, so the strategy's quiescent state runs in between.
        let sum = session.withCPU { $0.walks(1000) }
        let c = session.counts
        #expect(c.walks == 1000)
        #expect(c.leaves == 1000, "read-mostly is dense: every lookup finds a page")
        #expect(c.uaf == 0)
        #expect(sum != 0)
        try session.close()  // throws if a table leaked
    }

    @Test("a callback walk covers its 2 MiB span: 512 pages, whichever way the hooks are called",
          arguments: Dispatch.names)
    func callbackWalksCoverTheSpan(dispatch: String) throws {
        let session = try WalkSession(scenario("none", walker: "callback", dispatch: dispatch))
        session.withCPU { _ = $0.walks(20) }
        #expect(session.counts.leaves == 20 * 512)
        try session.close()
    }

    @Test("the same seed walks the same addresses: two sessions agree walk for walk")
    func sameSeedSameWalks() throws {
        let a = try WalkSession(scenario("none", walker: "range"))
        let b = try WalkSession(scenario("counted", walker: "range"))
        let sa = a.withCPU { $0.walks(300) }
        let sb = b.withCPU { $0.walks(300) }
        #expect(sa == sb)
        try a.close()
        try b.close()
    }

    @Test("samples cut anywhere walk what one long sample walks (the runner's batch loop, cut at its batches)")
    func samplesCutAnywhere() throws {
        let whole = try WalkSession(scenario("rcu-qsbr"))
        let cut = try WalkSession(scenario("rcu-qsbr"))
        let a = whole.withCPU { $0.walks(1000) }
        // 1 + 255 ends on a batch boundary, 300 crosses one, 0 walks nothing, 444 ends mid-batch.
        var b: UInt64 = 0
        for n in [1, 255, 300, 0, 444] { b = cut.withCPU { $0.walks(n) } }
        #expect(a == b)
        #expect(whole.counts.walks == cut.counts.walks && whole.counts.leaves == cut.counts.leaves)
        try whole.close()
        try cut.close()
    }

    @Test("a pair the PTE-lock rule refuses, or an unknown name, is refused when the session is made")
    func refusals() throws {
        #expect(throws: Runner.Failure.self) { try WalkSession(self.scenario("irq-disable", walker: "iterator")) }
        #expect(throws: Runner.Failure.self) { try WalkSession(strategy: "bogus") }
        #expect(throws: Runner.Failure.self) { try WalkSession(strategy: "none", workload: "bogus") }
    }
}
