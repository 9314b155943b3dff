// End-to-end tests of regression tracking: `bench run --processes`, `bench baseline`, `bench compare`
// and `bench check`, with the real binary. Comparisons read CSVs made up here (their numbers chosen),
// so no verdict depends on how this machine performs; one test runs tiny real measurements.

import Foundation
import Testing
import WalkBench

/// A made-up run: `processes` processes of one read-mostly/none cell, ns per walk from `ns(p)`.
private func syntheticRun(_ id: String, processes: Int, cpu: String = "Test CPU", set extra: [String: String] = [:],
                          ns: (Int) -> Double) -> String {
    let rows: [ResultRow] = (1...processes).map { p in
        var r = ResultRow()
        let v = ns(p)
        let values: [String: String] = [
            "run_id": id, "timestamp_utc": "2026-11-27T10:00:00Z", "host": "h", "cpu_model": cpu, "logical_cpus": "2",
            "kernel": "6.1.0", "spectre_v2": "Mitigation: Retpolines", "toolchain": "swift-6.3", "build": "release",
            "git_rev": "abc", "geometry": "x86-64-4l", "workload": "read-mostly", "strategy": "none", "walker": "lookup",
            "dispatch": "n/a", "readers": "1", "writers": "0", "repetition": "1", "duration_s": "0.08", "walks": "1000",
            "walks_per_s": String(Int(1e9 / v)), "ns_per_walk_p50": String(v), "ns_per_walk_mean": String(v),
            "writer_ops": "0", "tables_freed": "0", "tables_pending_peak": "0", "uaf_detected": "0", "oracle": "on",
            "take_ref": "on", "mapped_bytes": "1073741824", "density": "1", "huge_fraction": "0", "writer_delay_ns": "10000",
            "warmup_s": "0.02", "batch": "256", "seed": "24301", "window_delay_ns": "0", "batch_fail_rate": "0",
            "foreign_walkers": "no", "span_bytes": "2097152", "lazy_tlb": "n/a", "reader_idle_ns": "0", "lazy_walkers": "no",
            "process": String(p), "processes": String(processes), "extra_work": "0", "strategy_rev": "1", "walker_rev": "1",
            "workload_rev": "1", "disturbed": "no",
        ]
        for (k, value) in values.merging(extra, uniquingKeysWith: { $1 }) {
            if Columns.all.contains(k) { r[k] = value } else { r.setExtra(k, value) }
        }
        return r
    }
    return Baselines.csv(rows)
}

/// ±1 % around `base`, scattered over the processes the same way every time.
private func around(_ base: Double, _ salt: Int) -> (Int) -> Double {
    { p in base * (1 + (Double((p * 7919 + salt * 104_729) % 97) / 96 * 2 - 1) / 100) }
}

@Suite("bench tracking CLI", .serialized, .timeLimit(.minutes(3)))
struct TrackingCLITests {
    @Test func runInSeveralProcessesStampsEachRow() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let r = try runBench(["run", "--strategies", "none,rcu-qsbr", "--workloads", "read-mostly", "--readers", "1",
                              "--duration", "0.05", "--warmup", "0", "--processes", "3", "--output", "out.csv"], in: dir)
        try #require(r.status == 0, "\(r.transcript)")
        #expect(r.stderr.contains("preflight"), "\(r.transcript)")
        let rows = CSV.parse(try String(contentsOfFile: dir.path("out.csv"), encoding: .utf8))
        let header = rows[0]
        let data = rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
        #expect(data.count == 6)
        #expect(Set(data.map { $0["run_id"]! }).count == 1, "one run id for every process")
        for s in ["none", "rcu-qsbr"] {
            #expect(data.filter { $0["strategy"] == s }.map { $0["process"]! }.sorted() == ["1", "2", "3"])
        }
        for row in data {
            #expect(row["processes"] == "3")
            #expect(["yes", "no"].contains(row["unstable"]!))
            #expect(!(row["preflight"] ?? "").isEmpty)
            #expect(Double(row["timer_resolution_ns"] ?? "") != nil)
            // Each row carries its strategy's revision, from the strategy's own file.
            let rev = Strategies.all.first { $0.name == row["strategy"] }?.revision
            #expect(row["strategy_rev"] == rev.map(String.init))
        }
        #expect(r.stdout.contains("median over 3 processes"), "\(r.transcript)")
    }

    @Test func compareAndCheckWithBaselines() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("base.csv", syntheticRun("a", processes: 10, ns: around(20, 1)))
        try dir.write("same.csv", syntheticRun("b", processes: 10, ns: around(20, 2)))
        try dir.write("slow.csv", syntheticRun("c", processes: 10, ns: around(22, 3)))
        try dir.write("few.csv", syntheticRun("d", processes: 3, ns: around(22, 3)))
        try dir.write("other.csv", syntheticRun("e", processes: 10, cpu: "Other CPU", ns: around(20, 2)))

        let compare = try runBench(["compare", "base.csv", "slow.csv", "--format", "csv"], in: dir)
        try #require(compare.status == 0, "\(compare.transcript)")
        let table = CSV.parse(compare.stdout)
        let verdict = table[0].firstIndex(of: "verdict")!, metric = table[0].firstIndex(of: "metric")!
        #expect(table.first { $0[metric] == "ns_per_walk_mean" }?[verdict] == "slower", "\(compare.stdout)")

        let saved = try runBench(["baseline", "save", "main", "base.csv"], in: dir)
        #expect(saved.status == 0, "\(saved.transcript)")
        let again = try runBench(["baseline", "save", "main", "base.csv"], in: dir)
        #expect(again.status == 2 && again.stderrLines.count == 1 && again.stderr.contains("--force"), "\(again.transcript)")
        let list = try runBench(["baseline", "list"], in: dir)
        #expect(list.status == 0 && list.stdout.contains("main"), "\(list.transcript)")

        func check(_ extra: [String]) throws -> BenchResult { try runBench(["check", "--baseline", "main"] + extra, in: dir) }
        #expect(try check(["--candidate", "same.csv"]).status == 0)
        let slow = try check(["--candidate", "slow.csv"])
        #expect(slow.status == 1, "\(slow.transcript)")
        #expect(slow.stdout.contains("slower") && slow.stderr.contains("regression"), "\(slow.transcript)")
        #expect(try check(["--candidate", "few.csv"]).status == 3)
        #expect(try check(["--candidate", "few.csv", "--bisect"]).status == 125)
        #expect(try check(["--candidate", "other.csv"]).status == 3, "no baseline file for another CPU")
        // A baseline name works where a file does.
        #expect(try runBench(["compare", "main", "same.csv"], in: dir).status == 0)
    }

    @Test func abAlternatesTwoSidesAndWritesBoth() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let r = try runBench(["ab", "--strategies", "none", "--workloads", "read-mostly", "--readers", "1", "--duration", "0.03",
                              "--warmup", "0", "--processes", "2", "--b-extra-work", "5", "--format", "csv"], in: dir)
        // Two processes a side are too few for a verdict: nothing comparable, by design.
        #expect(r.status == 3, "\(r.transcript)")
        let runs = try FileManager.default.contentsOfDirectory(atPath: dir.path("results/runs")).sorted()
        try #require(runs.count == 2 && runs[0].hasSuffix("-A.csv") && runs[1].hasSuffix("-B.csv"), "\(runs)")
        let a = CSV.parse(try String(contentsOfFile: dir.path("results/runs/" + runs[0]), encoding: .utf8))
        let b = CSV.parse(try String(contentsOfFile: dir.path("results/runs/" + runs[1]), encoding: .utf8))
        let work = a[0].firstIndex(of: "extra_work")!, process = a[0].firstIndex(of: "process")!
        #expect(a.dropFirst().map { $0[work] } == ["0", "0"] && b.dropFirst().map { $0[work] } == ["5", "5"])
        #expect(a.dropFirst().map { $0[process] } == ["1", "2"])
        #expect(CSV.parse(r.stdout).first?.contains("verdict") == true, "\(r.transcript)")
        let bad = try runBench(["ab", "--a-binary", "/nonexistent/bench"], in: dir)
        #expect(bad.status == 2 && bad.stderrLines.count == 1 && bad.stderr.contains("/nonexistent/bench"), "\(bad.transcript)")
    }

    @Test(arguments: [
        (["compare", "missing.csv", "b.csv"], "missing.csv"),
        (["compare", "empty.csv", "b.csv"], "empty"),
        (["compare", "trunc.csv", "b.csv"], "trunc.csv"),
        (["compare", "b.csv", "b.csv", "--threshold", "0"], "--threshold"),
        (["compare", "b.csv", "b.csv", "--alpha", "-1"], "--alpha"),
        (["compare", "b.csv", "b.csv", "--format", "xml"], "xml"),
        (["compare", "b.csv", "b.csv", "--metrics", "speed"], "speed"),
        (["check", "--baseline", "../x", "--candidate", "b.csv"], "../x"),
        (["check", "--baseline", "nope", "--candidate", "b.csv"], "nope"),
        (["baseline", "save", "a/b", "b.csv"], "a/b"),
        (["baseline", "save", "ok", "empty.csv"], "empty"),
    ])
    func badInput(_ arguments: [String], _ mention: String) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let good = syntheticRun("a", processes: 5, ns: around(20, 1))
        try dir.write("b.csv", good)
        try dir.write("empty.csv", "")
        try dir.write("trunc.csv", String(good.dropLast(30)))
        let before = try dir.contents().sorted()
        let r = try runBench(arguments, in: dir)
        #expect(r.status == 2, "\(r.transcript)")
        #expect(r.stderrLines.count == 1 && r.stderr.contains(mention), "\(r.transcript)")
        #expect(try dir.contents().sorted() == before, "nothing written")
    }
}
