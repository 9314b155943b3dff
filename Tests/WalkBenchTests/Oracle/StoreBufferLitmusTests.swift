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

@Suite(.serialized) struct ScratchLitmusScan {
    @Test func scan() throws {
        for (spread, window) in [(UInt64(16), 48), (UInt64(32), 128)] {
          for rep in 0..<2 {
            let n = 300_000
            let tr = TraceBuf(n)
            var t = StoreBufferLitmus.Tuning(); t.delaySpread = spread; t.windowPauses = window; t.trace = tr
            let d = try StoreBufferLitmus.runDetailed(.plainStoreNoFence, maxRounds: n, maxSeconds: 20, stopAfter: nil, seed: UInt64(rep + 1), tuning: t)
            var all = [Int: Int](), fol = [Int: Int](), det = [Int: Int](), nowait = [Int: Int]()
            var sb = 0, sbDet = 0, sbFreeBeforeCheck = 0
            var lag: [Int] = []
            for r in 1...d.result.rounds {
                let delta = Int(Int64(bitPattern: tr.w[r] &- tr.f[r]))
                let b = Int((Double(delta) / 2.45 / 50).rounded(.down))
                all[b, default: 0] += 1
                let followed = tr.flags[r] & 1 != 0, waited = tr.fflags[r] != 0
                if followed { fol[b, default: 0] += 1; if !waited { nowait[b, default: 0] += 1 } }
                if tr.flags[r] & 2 != 0 { det[b, default: 0] += 1 }
                if followed && !waited {
                    sb += 1
                    if tr.flags[r] & 2 != 0 { sbDet += 1 }
                    let l = Int(Int64(bitPattern: tr.wcheck[r] &- tr.ffree[r]))
                    if l > 0 { sbFreeBeforeCheck += 1 }
                    lag.append(Int(Double(l) / 2.45))
                }
            }
            lag.sort()
            print("HIST spread \(spread) window \(window) rep \(rep): \(d.result.useAfterFree) in \(d.result.rounds); SB outcomes \(sb), detected \(sbDet), free-before-check \(sbFreeBeforeCheck); check-free lag ns pctl \(lag.isEmpty ? [] : [0, 10, 50, 90, 100].map { lag[min(lag.count - 1, lag.count * $0 / 100)] })")
            for b in all.keys.sorted() where fol[b] ?? 0 > 0 && (nowait[b] ?? 0) > 0 && b > -10 {
                print("HIST   [\(b*50) ns]: all \(all[b]!) followed \(fol[b] ?? 0) followedNoWait \(nowait[b] ?? 0) uaf \(det[b] ?? 0)")
            }
          }
        }
    }
}
