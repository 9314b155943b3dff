import Testing
@testable import WalkBench

@Suite struct ComparisonTests {
    func entry(_ c: Comparison, _ strategy: String = "none", _ metric: Metric = .nsPerWalkMean) -> Comparison.Entry? {
        c.entries.first { $0.cell.value("strategy") == strategy && $0.metric == metric }
    }

    @Test func sameDistributionIsSame() throws {
        let a = Fixture.run("a", processes: 10) { _, p in 20 * Fixture.jitter(p, 1) }
        let b = Fixture.run("b", processes: 10) { _, p in 20 * Fixture.jitter(p, 2) }
        let e = try #require(entry(Comparison(a: a, b: b), "none"))
        #expect(e.verdict == .same)
        #expect(e.p != nil && e.pAdjusted != nil)
    }

    @Test func aTenPercentShiftIsSlowerAndTheOtherWayFaster() throws {
        let a = Fixture.run("a", processes: 10) { _, p in 20 * Fixture.jitter(p, 1) }
        let b = Fixture.run("b", processes: 10) { _, p in 22 * Fixture.jitter(p, 2) }
        let slower = try #require(entry(Comparison(a: a, b: b)))
        #expect(slower.verdict == .slower)
        #expect(abs(slower.changePercent! - 10) < 2)
        let shift = try #require(slower.shift)
        #expect(shift.lower! <= 2 && 2 <= shift.upper!, "the interval holds the true shift: \(shift)")
        #expect(try #require(entry(Comparison(a: b, b: a))).verdict == .faster)
        // walks/s falls as ns/walk rises: higher is better there, so it is slower too.
        #expect(try #require(entry(Comparison(a: a, b: b), "none", .walksPerSecond)).verdict == .slower)
    }

    @Test func aChangeUnderTheThresholdOrTheFloorIsSame() throws {
        let a = Fixture.run("a", processes: 10) { _, p in 20 * Fixture.jitter(p, 1, percent: 0.1) }
        let b = Fixture.run("b", processes: 10) { _, p in 20.6 * Fixture.jitter(p, 2, percent: 0.1) }
        // +3 %: significant, but under the 5 % threshold.
        #expect(try #require(entry(Comparison(a: a, b: b))).verdict == .same)
        var o = Comparison.Options()
        o.threshold = 2
        o.floorNanoseconds = 0
        #expect(try #require(entry(Comparison(a: a, b: b, options: o))).verdict == .slower)
        // Over the threshold but under a 1 ns floor.
        o.floorNanoseconds = 1
        #expect(try #require(entry(Comparison(a: a, b: b, options: o))).verdict == .same)
    }

    @Test func fewerThanFiveProcessesGetNoVerdict() throws {
        let a = Fixture.run("a", processes: 4) { _, p in 20 * Fixture.jitter(p) }
        let b = Fixture.run("b", processes: 4) { _, p in 30 * Fixture.jitter(p) }
        #expect(try #require(entry(Comparison(a: a, b: b))).verdict == .tooFewSamples)
    }

    @Test func repetitionsOfOneProcessAreOneSample() throws {
        // Ten repetitions in one process: one sample, not ten.
        let a = (1...10).map { Fixture.row(run: "a", repetition: $0, nsPerWalk: 20 + Double($0) / 100) }
        let b = (1...10).map { Fixture.row(run: "b", repetition: $0, nsPerWalk: 30 + Double($0) / 100) }
        let e = try #require(entry(Comparison(a: a, b: b)))
        #expect(e.verdict == .tooFewSamples)
        #expect(e.a?.samples == 1)
    }

    @Test func aWideSpreadIsUnstable() throws {
        let a = Fixture.run("a", processes: 10) { _, p in 20 * Fixture.jitter(p, 1, percent: 30) }
        let b = Fixture.run("b", processes: 10) { _, p in 26 * Fixture.jitter(p, 2, percent: 30) }
        let e = try #require(entry(Comparison(a: a, b: b)))
        #expect(e.verdict == .unstable, "\(e)")
    }

    @Test func disturbedRepetitionsAreLeftOutAndMostlyDisturbedIsUnstable() throws {
        let a = Fixture.run("a", processes: 10) { _, p in 20 * Fixture.jitter(p, 1) }
        // Every process of B ran beside a busy neighbour.
        let b = Fixture.run("b", processes: 10, ns: { _, p in 40 * Fixture.jitter(p, 2) }, set: ["disturbed": "yes"])
        let e = try #require(entry(Comparison(a: a, b: b)))
        #expect(e.verdict != .slower && !e.verdict.isDecided)
    }

    @Test func aRunThatStartedOnABusyMachineGetsNoVerdict() throws {
        let a = Fixture.run("a", processes: 10) { _, p in 20 * Fixture.jitter(p, 1) }
        // No repetition of B noticed its neighbour, but the preflight did.
        let b = Fixture.run("b", processes: 10, ns: { _, p in 30 * Fixture.jitter(p, 2) },
                            set: ["preflight_other_cpu_pct": "50", "preflight_steal_pct": "0"])
        let e = try #require(entry(Comparison(a: a, b: b)))
        #expect(e.verdict == .unstable)
        #expect(e.note?.contains("busy") == true)
        #expect(Stability(groupCells(b)[0], .nsPerWalkMean).unstable)
    }

    @Test func otherRevisionsAndEnvironmentsAreIncomparable() throws {
        let a = Fixture.run("a", processes: 10) { _, p in 20 * Fixture.jitter(p) }
        let rev2 = (1...10).map { Fixture.row(run: "b", process: $0, processes: 10, nsPerWalk: 30, strategyRevision: 2) }
        let byRevision = Comparison(a: a, b: rev2)
        #expect(byRevision.entries.count == 1 && byRevision.entries[0].verdict == .incomparable)
        #expect(byRevision.entries[0].note?.contains("strategy_rev") == true)

        let otherCPU = Fixture.run("b", processes: 10, cpu: "Other CPU") { _, p in 30 * Fixture.jitter(p) }
        let byCPU = Comparison(a: a, b: otherCPU)
        #expect(byCPU.entries.allSatisfy { $0.verdict == .incomparable })
        #expect(!byCPU.environmentNotes.isEmpty)
        var o = Comparison.Options()
        o.allowEnvironmentMismatch = true
        #expect(try #require(entry(Comparison(a: a, b: otherCPU, options: o))).verdict == .slower)
    }

    @Test func cellsOnOneSideOnly() {
        let a = Fixture.run("a", strategies: ["none", "counted"], processes: 5) { _, _ in 20 }
        let b = Fixture.run("b", strategies: ["none", "rcu-qsbr"], processes: 5) { _, _ in 20 }
        let c = Comparison(a: a, b: b)
        #expect(c.entries.contains { $0.cell.value("strategy") == "counted" && $0.verdict == .onlyInA })
        #expect(c.entries.contains { $0.cell.value("strategy") == "rcu-qsbr" && $0.verdict == .onlyInB })
    }

    @Test func overheadOverReferenceIsPairedByProcess() throws {
        // Both strategies drift together from process to process; the difference is steady, then grows by 2 ns.
        let drift = { (p: Int) in Double(p % 4) * 3 }
        let a = Fixture.run("a", strategies: ["none", "rcu-memb"], processes: 10) { s, p in (s == "none" ? 20 : 22) + drift(p) }
        let b = Fixture.run("b", strategies: ["none", "rcu-memb"], processes: 10) { s, p in (s == "none" ? 20 : 24) + drift(p) }
        let c = Comparison(a: a, b: b)
        let over = try #require(entry(c, "rcu-memb", .nsOverReference))
        #expect(over.a?.median == 2 && over.b?.median == 4)
        #expect(over.verdict == .slower, "\(over)")
        // The absolute cost drifts ±20 %, too much to call.
        #expect(try #require(entry(c, "rcu-memb", .nsPerWalkMean)).verdict == .unstable)
        #expect(entry(c, "none", .nsOverReference) == nil, "the reference has no overhead over itself")
    }

    @Test func holmCorrectsOverTheCellsOfAMetric() throws {
        // 5 processes a side: the smallest two-sided U p is 2/252. Alone that passes alpha 0.01; over
        // three cells Holm multiplies it by 3, and nothing passes.
        let one = Comparison(a: Fixture.run("a", processes: 5) { _, p in 20 + Double(p) / 100 },
                             b: Fixture.run("b", processes: 5) { _, p in 25 + Double(p) / 100 })
        #expect(try #require(entry(one)).verdict == .slower)
        let strategies = ["none", "counted", "rcu-qsbr"]
        let three = Comparison(a: Fixture.run("a", strategies: strategies, processes: 5) { _, p in 20 + Double(p) / 100 },
                               b: Fixture.run("b", strategies: strategies, processes: 5) { _, p in 25 + Double(p) / 100 })
        let e = try #require(entry(three))
        #expect(e.verdict == .same)
        #expect(abs(e.pAdjusted! - 3 * e.p!) < 1e-12)
    }

    @Test func callgrindCountsCompareExactly() throws {
        let a = Fixture.run("a", processes: 1, ns: { _, _ in 20 }, set: ["cg_ir_per_walk": "257"])
        let same = Fixture.run("b", processes: 1, ns: { _, _ in 30 }, set: ["cg_ir_per_walk": "257"])
        let more = Fixture.run("b", processes: 1, ns: { _, _ in 20 }, set: ["cg_ir_per_walk": "260"])
        let ir = Metric.callgrind[0]
        #expect(try #require(entry(Comparison(a: a, b: same), "none", ir)).verdict == .same)
        let worse = try #require(entry(Comparison(a: a, b: more), "none", ir))
        #expect(worse.verdict == .worse)
        #expect(worse.shift?.estimate == 3)
        #expect(try #require(entry(Comparison(a: more, b: a), "none", ir)).verdict == .better)
    }

    @Test func checkOutcomes() {
        let base = Fixture.run("a", processes: 10) { _, p in 20 * Fixture.jitter(p, 1) }
        let same = Fixture.run("b", processes: 10) { _, p in 20 * Fixture.jitter(p, 2) }
        let slow = Fixture.run("b", processes: 10) { _, p in 23 * Fixture.jitter(p, 2) }
        let gate = Metric.defaultGate
        #expect(CheckOutcome(Comparison(a: base, b: same, gate: gate), bisect: false).status == 0)
        #expect(CheckOutcome(Comparison(a: base, b: slow, gate: gate), bisect: false).status == 1)
        // Faster is no failure.
        #expect(CheckOutcome(Comparison(a: slow, b: base, gate: gate), bisect: false).status == 0)
        let few = Fixture.run("b", processes: 3) { _, p in 23 * Fixture.jitter(p, 2) }
        #expect(CheckOutcome(Comparison(a: base, b: few, gate: gate), bisect: false).status == 3)
        #expect(CheckOutcome(Comparison(a: base, b: few, gate: gate), bisect: true).status == 125)
        let elsewhere = Fixture.run("b", processes: 10, cpu: "Other") { _, p in 20 * Fixture.jitter(p, 2) }
        #expect(CheckOutcome(Comparison(a: base, b: elsewhere, gate: gate), bisect: false).status == 3)
        // A use-after-free in a strategy that promises safety fails whatever the speed.
        let unsafe = Fixture.run("b", strategies: ["rcu-qsbr"], processes: 10, ns: { _, p in 20 * Fixture.jitter(p, 2) },
                                 set: ["uaf_detected": "1"])
        let safeBase = Fixture.run("a", strategies: ["rcu-qsbr"], processes: 10) { _, p in 20 * Fixture.jitter(p, 1) }
        let c = Comparison(a: safeBase, b: unsafe, gate: gate)
        #expect(c.safetyFailures.count == 10)
        #expect(CheckOutcome(c, bisect: false).status == 1)
    }

    @Test func everyFormatCarriesEveryEntry() {
        let a = Fixture.run("a", strategies: ["none", "counted"], processes: 6) { s, p in (s == "none" ? 20 : 36) * Fixture.jitter(p, 1) }
        let b = Fixture.run("b", strategies: ["none", "counted"], processes: 6) { s, p in (s == "none" ? 20 : 40) * Fixture.jitter(p, 2) }
        let c = Comparison(a: a, b: b)
        var ctx = ComparisonReport.Context(nameA: "a.csv", nameB: "b.csv")
        ctx.all = true
        let csv = CSV.parse(ComparisonReport.render(c, format: .csv, context: ctx))
        #expect(csv.count == c.entries.count + 1)
        let text = ComparisonReport.render(c, format: .text, context: ctx)
        #expect(text.contains("ns_per_walk_mean") && text.contains("a.csv"))
        let md = ComparisonReport.render(c, format: .md, context: ctx)
        #expect(md.contains("| cell | metric |"))
        let json = ComparisonReport.render(c, format: .json, context: ctx)
        #expect(json.contains("\"verdict\""))
    }
}
