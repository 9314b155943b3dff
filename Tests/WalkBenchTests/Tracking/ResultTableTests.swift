import Foundation
import Testing
@testable import WalkBench

@Suite struct ResultTableTests {
    static func csv(_ rows: [ResultRow]) -> String { Baselines.csv(rows) }

    @Test func readsBackWhatItWrites() throws {
        let rows = Fixture.run("a", strategies: ["none", "counted"], processes: 3, ns: { _, p in 20 + Double(p) },
                               set: ["cg_ir_per_walk": "257", "counters_note": "x, with a comma"])
        let back = try ResultTable.parse(Data(Self.csv(rows).utf8), name: "t.csv")
        #expect(back.count == 6)
        #expect(back.map { $0["ns_per_walk_mean"] } == rows.map { $0["ns_per_walk_mean"] })
        #expect(back[0].extra("cg_ir_per_walk") == "257")
        #expect(back[0].extra("counters_note") == "x, with a comma")
    }

    static let good = csv(Fixture.run("a", processes: 2) { _, _ in 20 })

    @Test(arguments: [
        ("", "empty file"),
        ("hello world\n", "not a walkbench CSV"),
        ("a,b,c\n1,2,3\n", "not a walkbench CSV"),
        (String(good.split(separator: "\n")[0]) + "\n", "a header and no rows"),
        (String(good.dropLast(40)), "fields, the header"),
        (good.replacingOccurrences(of: ",1000,", with: ",fast,"), "is not a number"),
        (good.replacingOccurrences(of: "lazy_walkers", with: "lazy_walkerz"), "lacks the column lazy_walkers"),
        (good.replacingOccurrences(of: "run_id,", with: "id,"), "lacks the frozen column run_id"),
    ])
    func badInputNamesTheProblem(_ text: String, _ mention: String) {
        #expect {
            _ = try ResultTable.parse(Data(text.utf8), name: "x.csv")
        } throws: { error in
            "\(error)".contains(mention) && "\(error)".contains("x.csv")
        }
    }

    @Test func aMissingFileIsNamed() {
        #expect(throws: ResultTable.BadInput.self) { _ = try ResultTable.load("/nonexistent/x.csv") }
    }

    @Test func parsesTwentyThousandRows() throws {
        // Not a timing: the benchmark for speed is `bench compare` on two such files (README). This
        // checks the byte-level parser keeps every row and quoted field at that size.
        var text = Self.good
        let line = String(text.split(separator: "\n")[1])
        for _ in 0..<20_000 { text += line + "\n" }
        #expect(try ResultTable.parse(Data(text.utf8), name: "big.csv").count == 20_002)
    }
}

@Suite struct BaselinesTests {
    @Test(arguments: ["main", "ci-2026.11", "a_b"]) func goodNames(_ n: String) { #expect(Baselines.problem(name: n) == nil) }
    @Test(arguments: ["", "../x", "a/b", ".hidden", "a..b", "spa ce"]) func badNames(_ n: String) {
        #expect(Baselines.problem(name: n) != nil)
    }

    @Test func saveListLoadAndRefuseToReplace() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wb-baselines-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = Baselines(directory: dir)
        let here = Fixture.run("a", processes: 2) { _, _ in 20 }
        let there = Fixture.run("b", processes: 2, cpu: "Other CPU") { _, _ in 30 }
        let planned = try store.plan(name: "main", rows: here + there, force: false)
        #expect(planned.count == 2, "one file per fingerprint")
        try store.save(planned, force: false)
        #expect(try store.list().count == 2)
        let loaded = try store.load(name: "main", fingerprint: Fingerprint(here[0]), anyFingerprint: false)
        #expect(loaded.rows?.count == 2)
        #expect(loaded.rows?.first?["cpu_model"] == "Test CPU")
        // Saving again needs --force, and the refusal comes before anything is written.
        #expect(throws: ResultTable.BadInput.self) { _ = try store.plan(name: "main", rows: here, force: false) }
        #expect(try store.plan(name: "main", rows: here, force: true).count == 1)
        let nowhere = try store.load(name: "main", fingerprint: Fingerprint(Fixture.row(nsPerWalk: 1, cpu: "Third")), anyFingerprint: false)
        #expect(nowhere.rows == nil && nowhere.available.count == 2)
        #expect(throws: ResultTable.BadInput.self) { _ = try store.load(name: "nope", fingerprint: Fingerprint(here[0]), anyFingerprint: false) }
    }

    @Test func fingerprintIgnoresHostAndRevision() {
        let a = Fixture.row(nsPerWalk: 1, set: ["host": "one", "git_rev": "x"])
        let b = Fixture.row(nsPerWalk: 1, set: ["host": "two", "git_rev": "y"])
        #expect(Fingerprint(a) == Fingerprint(b))
        #expect(Fingerprint(a).id == Fingerprint(b).id)
        #expect(Fingerprint(a) != Fingerprint(Fixture.row(nsPerWalk: 1, set: ["kernel": "6.15"])))
    }
}

@Suite struct SpreadTests {
    @Test func robustToOneOutlier() throws {
        let tight = [20.0, 20.1, 19.9, 20.05, 19.95, 20.02, 19.98, 20.0, 20.01, 60]
        #expect(try #require(Spread.percent(tight)) < 1)
        #expect(Spread.percent([20]) == nil)
    }

    @Test func stabilityMarksSpreadAndDisturbance() {
        let wide = groupCells(Fixture.run("a", processes: 10) { _, p in 20 * Fixture.jitter(p, percent: 30) })[0]
        #expect(Stability(wide, .nsPerWalkMean).unstable)
        let tight = groupCells(Fixture.run("a", processes: 10) { _, p in 20 * Fixture.jitter(p, percent: 0.5) })[0]
        #expect(!Stability(tight, .nsPerWalkMean).unstable)
        let busy = groupCells(Fixture.run("a", processes: 10, ns: { _, _ in 20 }, set: ["disturbed": "yes"]))[0]
        #expect(Stability(busy, .nsPerWalkMean).unstable)
        var rows = Fixture.run("a", processes: 10) { _, p in 20 * Fixture.jitter(p, percent: 30) }
        annotateStability(&rows)
        #expect(rows.allSatisfy { $0["unstable"] == "yes" && $0["cell_spread_pct"] != nil })
    }
}
