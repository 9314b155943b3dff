import Foundation
import Testing
@testable import WalkBench

@Suite struct GBenchJSONTests {
    @Test func namesSpellTheCellAndOnlyWhatTellsCellsApart() {
        var rows = Fixture.run("a", strategies: ["none", "rcu-qsbr"], processes: 2) { _, _ in 20 }
        for i in rows.indices { rows[i]["batch_fail_rate"] = rows[i]["strategy"] == "rcu-qsbr" ? "0" : "n/a" }
        // The same none cell again with another seed: only the seed tells the two apart.
        rows += Fixture.run("a", strategies: ["none"], processes: 2, ns: { _, _ in 21 }, set: ["seed": "7", "batch_fail_rate": "n/a"])
        let names = GBenchJSON.names(groupCells(rows).map(\.key))
        #expect(Set(names.values) == ["none/lookup/read-mostly/readers:1/writers:0/seed:24301",
                                      "none/lookup/read-mostly/readers:1/writers:0/seed:7",
                                      "rcu-qsbr/lookup/read-mostly/readers:1/writers:0"])
    }

    @Test func aggregatesAreGoogleBenchmarks() {
        let xs = [10.0, 12, 14]
        #expect(GBenchJSON.aggregate("mean", xs) == 12)
        #expect(GBenchJSON.aggregate("median", xs) == 12)
        #expect(GBenchJSON.aggregate("stddev", xs) == 2, "sample standard deviation, n - 1")
        #expect(GBenchJSON.aggregate("cv", xs) == 2.0 / 12, "a fraction, not percent")
    }

    @Test func cacheSizesAndSharingReadFromSysfsText() {
        #expect(GBenchJSON.Machine.bytes("32K") == 32768 && GBenchJSON.Machine.bytes("32M") == 32 << 20 && GBenchJSON.Machine.bytes("512") == 512)
        #expect(GBenchJSON.Machine.cpuCount("0-3,8") == 5 && GBenchJSON.Machine.cpuCount("1") == 1)
    }

    @Test func oneIterationEntryPerRowAndAggregatesPerCell() throws {
        let rows = Fixture.run("a", strategies: ["none"], processes: 4) { _, p in 20 + Double(p) }
        let text = GBenchJSON.render(rows, machine: nil)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let benchmarks = try #require(doc["benchmarks"] as? [[String: Any]])
        #expect(benchmarks.filter { $0["run_type"] as? String == "iteration" }.compactMap { $0["real_time"] as? Double } == [21, 22, 23, 24])
        #expect(benchmarks.filter { $0["run_type"] as? String == "aggregate" }.compactMap { $0["name"] as? String }.map { $0.split(separator: "_").last! }
                == ["mean", "median", "stddev", "cv"])
        let context = try #require(doc["context"] as? [String: Any])
        #expect(context["walkbench_note"] != nil, "a context from another machine says its mhz and caches are unknown")
    }
}
