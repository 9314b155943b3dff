import Testing
@testable import WalkBench

/// The counted-walker store-buffering litmus (KERNEL.md §3). The fenced publishes must never show a
/// use-after-free; the missing-barrier publish must show one, or the litmus is blind on this machine.
/// Serialized: the two-thread rounds need both CPUs to themselves.
@Suite(.serialized) struct StoreBufferLitmusTests {
    static func describe(_ publish: StoreBufferLitmus.Publish, _ d: StoreBufferLitmus.Detail) -> String {
        let r = d.result
        return "\(publish.rawValue): \(r.useAfterFree) use-after-free in \(r.rounds) rounds, "
            + String(format: "%.2f s (%.0f rounds/s)", r.seconds, r.seconds > 0 ? Double(r.rounds) / r.seconds : 0)
            + "; walker followed the pmd in \(d.walkerFollowed), freer waited in \(d.freerWaited)"
            + (d.firstDetectionRound.map { "; first detection in round \($0)" } ?? "")
            + (d.pinning.map { "; \($0)" } ?? "")
    }

    @Test(arguments: [StoreBufferLitmus.Publish.plainStoreThenFence, .atomicIncrementThenFence])
    func fencedPublishShowsNoUseAfterFree(_ publish: StoreBufferLitmus.Publish) throws {
        let d = try StoreBufferLitmus.runDetailed(publish, maxRounds: 200_000, maxSeconds: 10, stopAfter: nil, seed: 1)
        let message = Self.describe(publish, d)
        print(message)
        #expect(d.result.rounds > 0, Comment(rawValue: message))
        #expect(d.result.useAfterFree == 0, Comment(rawValue: message))
        // The rounds raced for real: the walker saw the table linked in some rounds and had to be
        // waited for in some. Otherwise "no use-after-free" would mean nothing.
        #expect(d.walkerFollowed > 0 && d.freerWaited > 0, Comment(rawValue: message))
    }

    @Test func missingBarrierIsDetected() throws {
        let d = try StoreBufferLitmus.runDetailed(.plainStoreNoFence, maxRounds: 5_000_000, maxSeconds: 30, stopAfter: 1, seed: 1)
        let message = Self.describe(.plainStoreNoFence, d)
        print(message)
        #expect(d.result.useAfterFree > 0, Comment(rawValue: "not observed: " + message))
    }

    @Test func publicRunHonoursItsBounds() throws {
        let r = try StoreBufferLitmus.run(.plainStoreThenFence, maxRounds: 1_000, maxSeconds: 10)
        #expect(r.rounds == 1_000)
        #expect(r.useAfterFree == 0)
        #expect(r.seconds > 0)
        let none = try StoreBufferLitmus.run(.plainStoreNoFence, maxRounds: 0, maxSeconds: 10)
        #expect(none.rounds == 0 && none.useAfterFree == 0)
    }
}
