// `bench report`, `bench export --format gbench-json` and `bench compare --format text` with the real
// binary, on CSVs made up here (their numbers chosen), so nothing depends on how this machine performs.

import Foundation
import Testing
import WalkBench

/// A made-up run: per strategy and walker count, `processes` processes of unmap-storm (one writer),
/// ns per walk from `ns(strategy, readers, process)`.
private func madeUpRun(_ id: String, strategies: [String] = ["none", "rcu-qsbr", "irq-disable"], readers: [Int] = [1, 2],
                       processes: Int = 6, ns: (String, Int, Int) -> Double) -> String {
    var rows: [ResultRow] = []
    for s in strategies {
        for r in readers {
            for p in 1...processes {
                var row = ResultRow()
                let v = ns(s, r, p)
                let values: [String: String] = [
                    "run_id": id, "timestamp_utc": "2026-11-27T10:00:00Z", "host": "h", "cpu_model": "Test CPU", "logical_cpus": "2",
                    "kernel": "6.1.0", "spectre_v2": "Mitigation: Retpolines", "toolchain": "swift-6.3", "build": "release",
                    "git_rev": id, "geometry": "x86-64-4l", "workload": "unmap-storm", "strategy": s, "walker": "lookup",
                    "dispatch": "n/a", "readers": String(r), "writers": "1", "repetition": "1", "duration_s": "0.08", "walks": "100000",
                    "walks_per_s": String(Int(1e9 / v)), "ns_per_walk_p50": String(v), "ns_per_walk_p99": String(v * 3),
                    "ns_per_walk_mean": String(v), "writer_ops": "1000", "writer_latency_us_p50": String(10 + Double(p) / 10),
                    "writer_wait_us_p50": String(s == "rcu-qsbr" ? 5000 : 12), "ipis_sent": s == "irq-disable" ? "1000" : "0",
                    "bytes_pending_peak": "4096", "tables_freed": "1000", "tables_pending_peak": "1",
                    "uaf_detected": s == "none" ? "3" : "0", "oracle": "on", "take_ref": "on", "mapped_bytes": "67108864", "density": "1",
                    "huge_fraction": "0", "writer_delay_ns": "10000", "warmup_s": "0.015", "batch": "256", "seed": "24301",
                    "window_delay_ns": "0", "batch_fail_rate": "0", "foreign_walkers": "no", "span_bytes": "2097152", "lazy_tlb": "n/a",
                    "reader_idle_ns": "0", "lazy_walkers": "no", "process": String(p), "processes": String(processes), "extra_work": "0",
                    "strategy_rev": "1", "walker_rev": "1", "workload_rev": "1", "disturbed": "no", "preflight": "quiet",
                ]
                for (k, value) in values { row[k] = value }
                row.setExtra("cg_ir_per_walk", "331")
                rows.append(row)
            }
        }
    }
    return Baselines.csv(rows)
}

/// ±1 % around `base`, the same way every time.
private func around(_ base: Double, _ p: Int, _ salt: Int) -> Double {
    base * (1 + (Double((p * 7919 + salt * 104_729) % 97) / 96 * 2 - 1) / 100)
}

private let baseCost: [String: Double] = ["none": 20, "rcu-qsbr": 22, "irq-disable": 40]

/// Where Debian's libbenchmark-tools puts Google Benchmark's compare.py.
private let comparePy = "/usr/share/benchmark/compare.py"

@Suite("bench report and export CLI", .serialized, .timeLimit(.minutes(3)))
struct ReportCLITests {
    @Test func reportWritesFiguresMarkdownAndHTMLAndTheComparison() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        // Ten processes a side: enough for a verdict after Holm's correction over six cells.
        try dir.write("a.csv", madeUpRun("aaa", processes: 10) { s, r, p in around(baseCost[s]! * Double(r), p, 1) })
        // irq-disable 20 % slower in B, the rest the same.
        try dir.write("b.csv", madeUpRun("bbb", processes: 10) { s, r, p in around(baseCost[s]! * Double(r) * (s == "irq-disable" ? 1.2 : 1), p, 2) })
        let r = try runBench(["report", "b.csv", "--compare", "a.csv", "b.csv", "--output", "out"], in: dir)
        try #require(r.status == 0, "\(r.transcript)")
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path("out")))
        #expect(files.isSuperset(of: ["report.md", "index.html", "reader-cost.svg", "writer-latency.svg", "ipis-bytes.svg", "compare.svg", "compare.txt"]), "\(files)")
        let md = try String(contentsOfFile: dir.path("out/report.md"), encoding: .utf8)
        let html = try String(contentsOfFile: dir.path("out/index.html"), encoding: .utf8)
        for svg in files.filter({ $0.hasSuffix(".svg") }) {
            #expect(md.contains("](\(svg))"), "report.md links \(svg)")
            #expect(html.contains("src=\"\(svg)\""), "index.html embeds \(svg)")
        }
        // The environment heads the report, the commands end it.
        #expect(md.contains("Test CPU") && md.contains("Mitigation: Retpolines") && md.contains("bbb"), "\(md)")
        #expect(md.contains("bench run --strategies none,rcu-qsbr,irq-disable --workloads unmap-storm --walkers lookup --readers 1,2 --processes 10"), "\(md)")
        #expect(md.contains("regression") && md.contains("unmap-storm irq-disable lookup r1 w1 ns_per_walk_mean +20"), "\(md)")
        // No range walker ran: the report says why that figure is missing.
        #expect(!files.contains("ns-per-entry.svg") && md.contains("_Not drawn_: no ns-per-entry figure"), "\(md)")
        // The text in the report is bench compare's own.
        let compare = try runBench(["compare", "a.csv", "b.csv", "--format", "text"], in: dir)
        let text = try String(contentsOfFile: dir.path("out/compare.txt"), encoding: .utf8)
        #expect(compare.stdout == text, "compare.txt is `bench compare --format text`")
        // A second report into the same directory is refused without --force, replaced with it.
        let again = try runBench(["report", "a.csv", "--output", "out"], in: dir)
        #expect(again.status == 2 && again.stderrLines.count == 1 && again.stderr.contains("--force"), "\(again.transcript)")
        let forced = try runBench(["report", "a.csv", "--output", "out", "--force"], in: dir)
        #expect(forced.status == 0, "\(forced.transcript)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("out/compare.svg")), "the old report is replaced whole")
        #expect(try dir.contents().filter { $0.hasPrefix(".") }.isEmpty, "no temporary directory left behind")
    }

    @Test func compareTextIsFixedWidthBaseChangeCandidate() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("a.csv", madeUpRun("aaa", strategies: ["none"], readers: [1], processes: 10) { _, _, p in around(20, p, 1) })
        try dir.write("b.csv", madeUpRun("bbb", strategies: ["none"], readers: [1], processes: 10) { _, _, p in around(22, p, 2) })
        let r = try runBench(["compare", "a.csv", "b.csv", "--format", "text"], in: dir)
        try #require(r.status == 0, "\(r.transcript)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let title = try #require(lines.firstIndex { $0.hasPrefix("ns_per_walk_mean [ns]") }, "\(r.stdout)")
        let head = lines[title + 1], row = lines[title + 2]
        #expect(row.hasPrefix("unmap-storm none lookup r1 w1") && row.contains("slower"), "\(r.stdout)")
        // Base, change and candidate in that order, each ending under its heading.
        for (heading, value) in [("base", 20.0), ("change", 10), ("candidate", 22)] {
            let end = try #require(head.range(of: heading)?.upperBound, "\(head)")
            let column = head.distance(from: head.startIndex, to: end)
            let cell = String(row.prefix(column).split(separator: " ").last ?? "")
            let number = Double(cell.replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "+", with: ""))
            #expect(number.map { abs($0 - value) < value * 0.02 } == true, "\(heading): \(cell)\n\(r.stdout)")
        }
        #expect(!r.stdout.contains("\u{1B}["), "no colour when stdout is not a terminal")
    }

    @Test(arguments: [
        (["report", "a.csv"], "--output"),
        (["report", "a.csv", "--output", "full"], "--force"),
        (["report", "a.csv", "--output", "file.txt"], "file.txt"),
        (["report", "a.csv", "--compare", "a.csv", "--output", "new"], "--compare"),
        (["report", "missing.csv", "--output", "new"], "missing.csv"),
        (["report", "a.csv", "--output", "nodir/new"], "nodir"),
        (["export", "a.csv", "--format", "xml"], "xml"),
        (["export", "missing.csv", "--format", "gbench-json"], "missing.csv"),
        (["export", "a.csv", "--format", "gbench-json", "--output", "file.txt"], "--force"),
        (["run", "--format", "xml"], "xml"),
        (["run", "--format", "gbench-json", "--output", "new.csv", "--strategies", "none", "--workloads", "read-mostly"], "new.json"),
    ])
    func badInput(_ arguments: [String], _ mention: String) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("a.csv", madeUpRun("aaa") { s, r, p in around(baseCost[s]! * Double(r), p, 1) })
        try dir.write("new.json", "{}")
        try dir.write("file.txt", "x")
        try FileManager.default.createDirectory(atPath: dir.path("full"), withIntermediateDirectories: true)
        try dir.write("full/old.md", "old")
        let before = try dir.contents().sorted()
        let r = try runBench(arguments, in: dir)
        #expect(r.status == 2, "\(r.transcript)")
        #expect(r.stderrLines.count == 1 && r.stderr.contains(mention), "\(r.transcript)")
        #expect(try dir.contents().sorted() == before, "nothing written")
        #expect(try String(contentsOfFile: dir.path("full/old.md"), encoding: .utf8) == "old")
    }

    @Test func gbenchJSONRoundTripsWithTheFieldsNamed() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("a.csv", madeUpRun("aaa") { s, r, p in around(baseCost[s]! * Double(r), p, 1) })
        let r = try runBench(["export", "--format", "gbench-json", "a.csv", "--output", "a.json"], in: dir)
        try #require(r.status == 0, "\(r.transcript)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.path("a.json")))) as? [String: Any])
        let context = try #require(doc["context"] as? [String: Any])
        for key in ["date", "host_name", "num_cpus", "mhz_per_cpu", "caches", "library_build_type"] { #expect(context[key] != nil, "context.\(key)") }
        #expect(context["num_cpus"] as? Int == 2 && context["library_build_type"] as? String == "release")
        let benchmarks = try #require(doc["benchmarks"] as? [[String: Any]])
        let iterations = benchmarks.filter { $0["run_type"] as? String == "iteration" }
        #expect(iterations.count == 3 * 2 * 6, "one entry per cell and repetition")
        let name = "irq-disable/lookup/unmap-storm/readers:2/writers:1"
        let cell = iterations.filter { $0["name"] as? String == name }
        try #require(cell.count == 6, "\(benchmarks.compactMap { $0["name"] as? String })")
        let first = cell[0]
        #expect(first["time_unit"] as? String == "ns" && first["repetitions"] as? Int == 6 && first["repetition_index"] as? Int == 0)
        #expect(first["iterations"] as? Int == 100_000)
        #expect(abs((first["real_time"] as? Double ?? 0) - around(80, 1, 1)) < 1e-9 && first["cpu_time"] as? Double == first["real_time"] as? Double)
        #expect(first["ipis_per_op"] as? Double == 1 && first["uaf_detected"] as? Double == 0 && first["free_wait_us_p50"] as? Double == 12)
        #expect(first["cg_ir_per_walk"] as? Double == 331)
        let aggregates = benchmarks.filter { $0["run_name"] as? String == name && $0["run_type"] as? String == "aggregate" }
        #expect(aggregates.compactMap { $0["aggregate_name"] as? String } == ["mean", "median", "stddev", "cv"])
        let times = cell.compactMap { $0["real_time"] as? Double }
        let mean = times.reduce(0, +) / 6
        #expect(abs((aggregates[0]["real_time"] as? Double ?? 0) - mean) < 1e-9)
        let sd = (times.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 5).squareRoot()
        #expect(abs((aggregates[2]["real_time"] as? Double ?? 0) - sd) < 1e-9)
        #expect(abs((aggregates[3]["real_time"] as? Double ?? 0) - sd / mean) < 1e-12 && aggregates[3]["aggregate_unit"] as? String == "percentage")
        // Without --output the same JSON goes to stdout.
        let out = try runBench(["export", "--format", "gbench-json", "a.csv"], in: dir)
        let written = try String(contentsOfFile: dir.path("a.json"), encoding: .utf8)
        #expect(out.status == 0 && out.stdout == written)
    }

    @Test func runWritesTheJSONBesideTheCSV() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let r = try runBench(["run", "--strategies", "none", "--workloads", "read-mostly", "--readers", "1", "--duration", "0.02",
                              "--warmup", "0", "--processes", "2", "--format", "gbench-json", "--output", "x.csv"], in: dir)
        try #require(r.status == 0, "\(r.transcript)")
        let csvRows = CSV.parse(try String(contentsOfFile: dir.path("x.csv"), encoding: .utf8)).count - 1
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.path("x.json")))) as? [String: Any])
        let benchmarks = try #require(doc["benchmarks"] as? [[String: Any]])
        #expect(benchmarks.filter { $0["run_type"] as? String == "iteration" }.count == csvRows)
        #expect(benchmarks.contains { $0["name"] as? String == "none/lookup/read-mostly/readers:1/writers:0_median" })
        // Measured here: this machine's frequency and caches where the kernel shows them.
        let context = try #require(doc["context"] as? [String: Any])
        #expect(context["walkbench_note"] == nil && context["num_cpus"] as? Int == ProcessInfo.processInfo.activeProcessorCount)
        // bench ab shares run's selection and keeps its own --format.
        let ab = try runBench(["ab", "--strategies", "none", "--workloads", "read-mostly", "--readers", "1", "--duration", "0.02",
                               "--warmup", "0", "--processes", "1", "--format", "md"], in: dir)
        #expect(ab.status == 3 && ab.stdout.contains("| cell |"), "\(ab.transcript)")
    }

    /// Google Benchmark's own compare.py reads two exports, matches them by name and finds the one
    /// cell made 25 % slower. Needs Debian's libbenchmark-tools and python3-scipy (scripts/debian-packages.txt).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: comparePy),
                   "compare.py not installed: apt-get install libbenchmark-tools python3-scipy (make test installs them)"))
    func googleBenchmarksComparePyFindsTheInjectedDifference() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("a.csv", madeUpRun("aaa", processes: 10) { s, r, p in around(baseCost[s]! * Double(r), p, 1) })
        try dir.write("b.csv", madeUpRun("bbb", processes: 10) { s, r, p in around(baseCost[s]! * Double(r) * (s == "rcu-qsbr" && r == 2 ? 1.25 : 1), p, 2) })
        for side in ["a", "b"] {
            let r = try runBench(["export", "--format", "gbench-json", "\(side).csv", "--output", "\(side).json"], in: dir)
            try #require(r.status == 0, "\(r.transcript)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [comparePy, "--no-color", "benchmarks", dir.path("a.json"), dir.path("b.json")]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(output)")
        // compare.py's table: name, then Time and CPU as relative changes (+0.2500 is 25 % slower).
        func change(_ name: String) -> Double? {
            output.split(separator: "\n").first { $0.hasPrefix(name + " ") }
                .flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first }.flatMap { Double($0) }
        }
        let slow = try #require(change("rcu-qsbr/lookup/unmap-storm/readers:2/writers:1_median"), "\(output)")
        #expect(abs(slow - 0.25) < 0.02, "\(output)")
        let same = try #require(change("none/lookup/unmap-storm/readers:2/writers:1_median"), "\(output)")
        #expect(abs(same) < 0.02, "\(output)")
        // With ten repetitions a side compare.py runs its U test: the slower cell's p-value is small.
        #expect(output.contains("rcu-qsbr/lookup/unmap-storm/readers:2/writers:1_pvalue"), "\(output)")
    }
}
