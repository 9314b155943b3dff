// End-to-end tests of the `bench` executable: they run the real binary built by
// `swift build --product bench` (the README's test command builds it before `swift test`),
// each in a fresh temporary working directory so nothing lands in the repository.

import Foundation
import Testing
import WalkBench

/// The frozen leading CSV columns: the contract with every existing reader of result files.
private let frozenLeadingColumns: [String] = [
    "run_id", "timestamp_utc", "host", "cpu_model", "logical_cpus", "kernel", "spectre_v2", "toolchain", "build",
    "git_rev", "geometry", "workload", "strategy", "walker", "dispatch", "readers", "writers", "repetition",
    "duration_s", "walks", "walks_per_s", "ns_per_walk_p50", "ns_per_walk_p90", "ns_per_walk_p99",
    "ns_per_walk_mean", "writer_ops", "writer_latency_us_p50", "writer_latency_us_p99", "tables_freed",
    "tables_pending_peak", "uaf_detected", "oracle",
]

/// Options of a valid, tiny run of one strategy (no --output).
private let tinyRun: [String] = [
    "run", "--strategies", "none", "--workloads", "unmap-storm", "--readers", "1", "--writers", "1",
    "--duration", "0.1", "--warmup", "0", "--repetitions", "1", "--processes", "1",
]

/// Parses a result CSV and checks its header is the schema; returns the data rows keyed by column.
private func readResults(_ path: String) throws -> [[String: String]] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let rows = CSV.parse(text)
    let header = try #require(rows.first, "empty CSV at \(path)")
    #expect(header == Columns.all)
    #expect(Array(header.prefix(frozenLeadingColumns.count)) == frozenLeadingColumns)
    return rows.dropFirst().map { fields in
        #expect(fields.count == header.count, "row has \(fields.count) fields, header has \(header.count): \(fields)")
        var row: [String: String] = [:]
        for (name, value) in zip(header, fields) { row[name] = value }
        return row
    }
}

// MARK: - Bad input cases

/// One invalid invocation: its arguments (before --output), an optional workload file written
/// into the working directory first, and what stderr must mention.
struct BadInput: Sendable, CustomTestStringConvertible {
    var label: String
    var arguments: [String]
    var workloadFile: (name: String, json: String)? = nil
    var mentions: [String]
    /// Whether `--output <tmp>/out.csv` is appended (the --output case brings its own).
    var addsOutput: Bool = true

    var testDescription: String { label }
}

private let badInputs: [BadInput] = [
    BadInput(label: "--strategies bogus", arguments: ["--strategies", "bogus"], mentions: ["bogus", "mmap-lock"]),
    BadInput(label: "--strategies given twice", arguments: ["--strategies", "none", "--strategies", "mmap-lock"], mentions: ["--strategies", "once"]),
    BadInput(label: "--pt-reclaim without an RCU strategy", arguments: ["--strategies", "irq-disable", "--pt-reclaim"], mentions: ["--pt-reclaim", "rcu-memb"]),
    BadInput(label: "--cpumask-trim-ms 0", arguments: ["--strategies", "irq-disable-rcu", "--lazy-tlb", "on", "--cpumask-trim-ms", "0"], mentions: ["0", "60000"]),
    BadInput(label: "--cpumask-trim-ms without lazy TLB", arguments: ["--strategies", "irq-disable-rcu", "--cpumask-trim-ms", "10"], mentions: ["--cpumask-trim-ms", "irq-disable-rcu"]),
    BadInput(label: "--walkers nope", arguments: ["--walkers", "nope"], mentions: ["nope"]),
    BadInput(label: "--foll-pin with --no-take-ref", arguments: ["--foll-pin", "--no-take-ref"], mentions: ["--foll-pin", "--no-take-ref"]),
    BadInput(label: "a PTE-lock ops set with an IRQ-off strategy", arguments: ["--walkers", "callback-pmd-entry", "--strategies", "irq-disable"],
             mentions: ["callback-pmd-entry", "irq-disable", "PTE lock"]),
    BadInput(label: "--dispatch vtable", arguments: ["--walkers", "callback", "--dispatch", "vtable"], mentions: ["vtable", "c-retpoline"]),
    BadInput(label: "--span 0", arguments: ["--span", "0"], mentions: ["0"]),
    BadInput(label: "--span as large as the mapping", arguments: ["--walkers", "range", "--workloads", "read-mostly", "--span", "1GiB"],
             mentions: ["--span", "1GiB", "read-mostly"]),
    BadInput(label: "--strategies none,none", arguments: ["--strategies", "none,none"], mentions: ["none", "twice"]),
    BadInput(label: "--readers 1,1", arguments: ["--readers", "1,1"], mentions: ["--readers", "1", "twice"]),
    BadInput(label: "--batch-fail-rate without an RCU strategy", arguments: ["--strategies", "irq-disable", "--batch-fail-rate", "0.5"],
             mentions: ["--batch-fail-rate", "rcu-memb"]),
    BadInput(label: "--dispatch without a callback walker", arguments: ["--dispatch", "c-retpoline"], mentions: ["--dispatch", "callback"]),
    BadInput(
        label: "a workload file naming a built-in", arguments: ["--workloads", "read-mostly", "--workload-file", "dup.json"],
        workloadFile: ("dup.json", #"{"name":"read-mostly","kind":"read-mostly"}"#), mentions: ["read-mostly", "twice"]
    ),
    BadInput(label: "--lazy-tlb maybe", arguments: ["--lazy-tlb", "maybe"], mentions: ["maybe", "off, on"]),
    BadInput(
        label: "workload file with reader_idle_ns -5", arguments: ["--workload-file", "bad-idle.json"],
        workloadFile: ("bad-idle.json", #"{"name":"w","kind":"zap-churn","reader_idle_ns":-5}"#),
        mentions: ["reader_idle_ns", "-5"]
    ),
    BadInput(label: "--workloads nope", arguments: ["--workloads", "nope"], mentions: ["nope"]),
    BadInput(label: "--processes 0", arguments: ["--processes", "0"], mentions: ["--processes", "0"]),
    BadInput(label: "--processes 101", arguments: ["--processes", "101"], mentions: ["101"]),
    BadInput(label: "--extra-work -1", arguments: ["--extra-work", "-1"], mentions: ["--extra-work", "-1"]),
    BadInput(label: "--unstable-threshold 0", arguments: ["--unstable-threshold", "0"], mentions: ["--unstable-threshold", "0"]),
    BadInput(label: "--arena-hugepages maybe", arguments: ["--arena-hugepages", "maybe"], mentions: ["maybe", "on or off"]),
    BadInput(label: "--geometry vax", arguments: ["--geometry", "vax"], mentions: ["vax"]),
    BadInput(label: "--duration 0", arguments: ["--duration", "0"], mentions: ["0", "--duration"]),
    BadInput(label: "--duration abc", arguments: ["--duration", "abc"], mentions: ["abc"]),
    BadInput(label: "--duration -1", arguments: ["--duration", "-1"], mentions: ["-1"]),
    BadInput(label: "--duration=-1", arguments: ["--duration=-1"], mentions: ["-1", "--duration"]),
    BadInput(label: "--readers 1025", arguments: ["--readers", "1025"], mentions: ["1025", "1024"]),
    BadInput(label: "--readers x", arguments: ["--readers", "x"], mentions: ["x", "--readers"]),
    BadInput(label: "--repetitions 0", arguments: ["--repetitions", "0"], mentions: ["0", "--repetitions"]),
    BadInput(
        label: "--output /nonexistent-dir/x.csv", arguments: ["--output", "/nonexistent-dir/x.csv"],
        mentions: ["/nonexistent-dir"], addsOutput: false
    ),
    BadInput(
        label: "workload file with density 1.5", arguments: ["--workload-file", "bad-value.json"],
        workloadFile: ("bad-value.json", #"{"name":"w","kind":"unmap-storm","density":1.5}"#),
        mentions: ["density", "1.5"]
    ),
    BadInput(
        label: "workload file with an unknown key", arguments: ["--workload-file", "unknown-key.json"],
        workloadFile: ("unknown-key.json", #"{"name":"w","kind":"unmap-storm","bogus_key":1}"#),
        mentions: ["bogus_key"]
    ),
    BadInput(
        label: "malformed workload file", arguments: ["--workload-file", "malformed.json"],
        workloadFile: ("malformed.json", #"{"name":"w","kind":"#), mentions: ["malformed.json"]
    ),
]

// MARK: - Tests

@Suite("bench CLI", .serialized, .timeLimit(.minutes(2)))
struct BenchCLITests {
    @Test("bench list names every strategy, walker, workload and geometry")
    func list() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let r = try runBench(["list"], in: dir)
        #expect(r.status == 0, "\(r.transcript)")
        for section in ["strategies:", "walkers:", "workloads:", "geometries:"] {
            #expect(r.stdout.contains(section), "missing section \(section)\n\(r.transcript)")
        }
        for name in ["none", "mmap-lock", "lookup", "read-mostly", "unmap-storm", "thp-churn", "x86-64-4l", "s390-3l"] {
            #expect(r.stdout.contains(name), "missing \(name)\n\(r.transcript)")
        }
        // Every strategy says which kernels it stands for.
        let kernelLines = r.stdout.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("kernel: ") }
        #expect(kernelLines.count == Strategies.all.count, "\(r.transcript)")
        #expect(Strategies.all.allSatisfy { !$0.kernel.isEmpty })
    }

    @Test("a tiny run of none and mmap-lock writes one schema-conformant row per strategy")
    func tinyRunWritesCSV() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let output = dir.path("out.csv")
        let r = try runBench(
            [
                "run", "--strategies", "none,mmap-lock", "--workloads", "unmap-storm", "--readers", "1",
                "--writers", "1", "--duration", "0.2", "--warmup", "0.05", "--repetitions", "1", "--processes", "1", "--output", output,
            ], in: dir)
        #expect(r.status == 0, "\(r.transcript)")
        #expect(r.stdout.contains("results:"), "\(r.transcript)")
        #expect(r.stdout.contains(output), "\(r.transcript)")
        try #require(FileManager.default.fileExists(atPath: output), "no CSV written\n\(r.transcript)")

        let rows = try readResults(output)
        try #require(rows.count == 2, "expected 2 data rows, got \(rows.count)\n\(r.transcript)")
        #expect(rows.map { $0["strategy"] ?? "" }.sorted() == ["mmap-lock", "none"])
        for row in rows {
            let strategy = row["strategy"] ?? "?"
            #expect(row["build"] == "debug", "strategy \(strategy)")
            #expect(row["workload"] == "unmap-storm", "strategy \(strategy)")
            #expect(row["oracle"] == "on", "strategy \(strategy)")
            let walks = try #require(Int(row["walks"] ?? ""), "walks not an integer: \(row["walks"] ?? "nil")")
            // mmap-lock's walker waits behind a writer the lock prefers: in 0.2 s on a slow machine (an
            // ASan build, a loaded one) it may get no walk in at all. none's walker never waits.
            #expect(strategy == "mmap-lock" ? walks >= 0 : walks > 0, "strategy \(strategy)")
            let freed = try #require(
                Int(row["tables_freed"] ?? ""), "tables_freed not an integer: \(row["tables_freed"] ?? "nil")")
            let writerOps = try #require(Int(row["writer_ops"] ?? ""), "writer_ops not an integer: \(row["writer_ops"] ?? "nil")")
            // Every unmap-storm operation frees its chunk's PTE table at once under these strategies (one
            // that straddled the phase's start may have freed before it). How many operations a loaded
            // machine lets the writer finish in 0.2 s is not this test's business.
            #expect(freed >= writerOps - 1, "strategy \(strategy): \(freed) tables freed by \(writerOps) operations")
            switch strategy {
            case "mmap-lock":
                #expect(row["uaf_detected"] == "0")
            case "none":
                // A debug build measuring 0.2 s may legitimately catch no use-after-free.
                let uaf = try #require(
                    Int(row["uaf_detected"] ?? ""), "uaf_detected not an integer: \(row["uaf_detected"] ?? "nil")")
                #expect(uaf >= 0)
            default:
                Issue.record("unexpected strategy \(strategy)")
            }
        }
    }

    @Test("--lazy-tlb off,on makes two cells for irq-disable and one, marked n/a, for the others")
    func lazyTLBAxis() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let output = dir.path("out.csv")
        let r = try runBench(
            [
                "run", "--strategies", "none,irq-disable", "--workloads", "zap-churn", "--readers", "1",
                "--lazy-tlb", "off,on", "--duration", "0.2", "--warmup", "0", "--repetitions", "1", "--processes", "1",
                "--output", output,
            ], in: dir)
        #expect(r.status == 0, "\(r.transcript)")
        let rows = try readResults(output)
        let cells = rows.map { "\($0["strategy"] ?? "?") \($0["lazy_tlb"] ?? "?")" }.sorted()
        #expect(cells == ["irq-disable off", "irq-disable on", "none n/a"], "\(r.transcript)")
        for row in rows {
            #expect(row["reader_idle_ns"] == "50000")
            #expect(row["uaf_detected"] == "0" || row["strategy"] == "none")
            switch row["lazy_tlb"] {
            case "on": #expect(Int(row["ipis_skipped_lazy"] ?? "") != nil, "skipped IPIs are counted with lazy TLB on")
            default: #expect(row["ipis_skipped_lazy"] == "", "nothing to skip with lazy TLB off or n/a")
            }
        }
        #expect(r.stdout.contains("irq-disable lazy-tlb=on"), "the summary tells the two irq-disable cells apart\n\(r.transcript)")
    }

    @Test("bad input exits 2 with one stderr line naming the value, and writes nothing", arguments: badInputs)
    func badInput(_ c: BadInput) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        if let file = c.workloadFile { try dir.write(file.name, file.json) }
        let output = dir.path("out.csv")
        var arguments = ["run"] + c.arguments
        if c.addsOutput { arguments += ["--output", output] }
        let r = try runBench(arguments, in: dir)

        #expect(r.status == 2, "\(r.transcript)")
        let lines = r.stderrLines
        #expect(lines.count == 1, "expected exactly one stderr line\n\(r.transcript)")
        for word in c.mentions {
            #expect(r.stderr.contains(word), "stderr does not mention \"\(word)\"\n\(r.transcript)")
        }
        #expect(!FileManager.default.fileExists(atPath: output), "\(output) was written")
        let stray = try dir.contents().filter { $0.hasSuffix(".csv") || $0.hasPrefix(".tmp-") }
        #expect(stray.isEmpty, "files left in the working directory: \(stray)")
        if !c.addsOutput {
            #expect(!FileManager.default.fileExists(atPath: "/nonexistent-dir/x.csv"))
        }
    }

    @Test("an option that does not apply to a strategy is recorded as n/a on its rows, and not run")
    func batchFailRateIsNotApplicableOutsideRCU() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let output = dir.path("out.csv")
        let r = try runBench(["run", "--strategies", "irq-disable,rcu-memb", "--workloads", "read-mostly", "--readers", "1",
                              "--batch-fail-rate", "0.5", "--duration", "0.05", "--warmup", "0", "--repetitions", "1",
                              "--processes", "1", "--output", output], in: dir)
        #expect(r.status == 0, "\(r.transcript)")
        let rows = try readResults(output)
        #expect(rows.first { $0["strategy"] == "irq-disable" }?["batch_fail_rate"] == "n/a")
        #expect(rows.first { $0["strategy"] == "rcu-memb" }?["batch_fail_rate"] == "0.5")
    }

    @Test("bench validate refuses the options of another mode, naming them", arguments: [
        (["--forced", "--walks", "5"], "--walks"), (["--stress", "--case", "none"], "--case"),
        (["--forced", "--duration", "1"], "--duration"), (["--case", "none"], "--case"), (["--forced", "--stress"], "--stress"),
    ])
    func validateModesRefuseEachOthersOptions(_ arguments: [String], _ named: String) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let r = try runBench(["validate"] + arguments, in: dir)
        #expect(r.status == 2, "\(r.transcript)")
        #expect(r.stderrLines.count == 1 && r.stderr.contains(named), "\(r.transcript)")
    }

    @Test("an existing --output is kept without --force and replaced with it")
    func existingOutputNeedsForce() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let output = dir.path("existing.csv")
        try dir.write("existing.csv", "keep")

        let refused = try runBench(tinyRun + ["--output", output], in: dir)
        #expect(refused.status == 2, "\(refused.transcript)")
        #expect(refused.stderr.contains("--force"), "\(refused.transcript)")
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "keep")
        let stray = try dir.contents().filter { $0.hasPrefix(".tmp-") }
        #expect(stray.isEmpty, "temporary files left behind: \(stray)")

        let forced = try runBench(tinyRun + ["--output", output, "--force"], in: dir)
        #expect(forced.status == 0, "\(forced.transcript)")
        let text = try String(contentsOfFile: output, encoding: .utf8)
        #expect(text.hasPrefix("run_id,"), "file now starts with: \(text.prefix(40))")
        let rows = try readResults(output)
        #expect(rows.count == 1)
    }

    @Test("a valid workload file runs under its own name and size")
    func workloadFile() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("tiny.json", #"{"name":"tiny-storm","kind":"unmap-storm","mapped":"8MiB"}"#)
        let output = dir.path("out.csv")
        let r = try runBench(
            [
                "run", "--workload-file", "tiny.json", "--strategies", "none", "--readers", "1",
                "--duration", "0.1", "--warmup", "0", "--repetitions", "1", "--processes", "1", "--output", output,
            ], in: dir)
        #expect(r.status == 0, "\(r.transcript)")
        let rows = try readResults(output)
        try #require(rows.count == 1, "expected 1 data row, got \(rows.count)\n\(r.transcript)")
        #expect(rows[0]["workload"] == "tiny-storm")
        #expect(rows[0]["mapped_bytes"] == "8388608")
        #expect(rows[0]["strategy"] == "none")
    }

    @Test("--workloads selects a workload a file defines, alone or beside a built-in; bench list shows it")
    func workloadFileNamesAreFirstClass() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.write("two.json", #"[{"name":"tiny-a","kind":"unmap-storm","mapped":"8MiB"},{"name":"tiny-b","kind":"read-mostly","mapped":"8MiB"}]"#)
        let output = dir.path("out.csv")
        let r = try runBench(
            [
                "run", "--workload-file", "two.json", "--workloads", "tiny-b,read-mostly", "--strategies", "none",
                "--readers", "1", "--duration", "0.05", "--warmup", "0", "--repetitions", "1", "--processes", "1",
                "--output", output,
            ], in: dir)
        #expect(r.status == 0, "\(r.transcript)")
        let rows = try readResults(output)
        // Exactly the two named: tiny-a is defined but not selected.
        #expect(Set(rows.map { $0["workload"] ?? "" }) == ["tiny-b", "read-mostly"], "\(r.transcript)")
        #expect(rows.first { $0["workload"] == "tiny-b" }?["mapped_bytes"] == "8388608")

        // A name neither built in nor in the files is refused with the file's names among the allowed.
        let unknown = try runBench(["run", "--workload-file", "two.json", "--workloads", "tiny-c", "--output", dir.path("x.csv")], in: dir)
        #expect(unknown.status == 2, "\(unknown.transcript)")
        #expect(unknown.stderr.contains("tiny-c") && unknown.stderr.contains("tiny-a"), "\(unknown.transcript)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("x.csv")))

        let list = try runBench(["list", "--workload-file", "two.json"], in: dir)
        #expect(list.status == 0, "\(list.transcript)")
        #expect(list.stdout.contains("tiny-a") && list.stdout.contains("tiny-b"), "\(list.transcript)")
        let badList = try runBench(["list", "--workload-file", "missing.json"], in: dir)
        #expect(badList.status == 2, "\(badList.transcript)")
        #expect(badList.stderr.contains("missing.json"), "\(badList.transcript)")
    }

    /// In its own process the strategies' software-defined events are exact: `none` sends no IPI,
    /// irq-disable one shootdown per unmap, and every unmap-storm operation frees a table.
    @Test func softwareDefinedEventsAreExact() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let csv = dir.path("sde.csv")
        let r = try runBench([
            "run", "--strategies", "none,irq-disable", "--workloads", "unmap-storm", "--readers", "1", "--writers", "1",
            "--duration", "0.2", "--warmup", "0", "--repetitions", "1", "--processes", "1",
            "--counters", "sde:::walkbench::ipis_sent,sde:::walkbench::tables_freed", "--output", csv,
        ], in: dir)
        try #require(r.status == 0, "\(r.transcript)")
        let rows = CSV.parse(try String(contentsOfFile: csv, encoding: .utf8))
        let header = rows[0]
        func value(_ row: [String], _ column: String) throws -> Double {
            let i = try #require(header.firstIndex(of: column), "no column \(column)")
            return try #require(Double(row[i]), "\(column) = \(row[i])")
        }
        let byStrategy = Dictionary(uniqueKeysWithValues: rows.dropFirst().map { ($0[header.firstIndex(of: "strategy")!], $0) })
        let none = try #require(byStrategy["none"]), irq = try #require(byStrategy["irq-disable"])
        #expect(try value(none, "sde___walkbench__ipis_sent_per_op") == 0)
        #expect(try value(irq, "sde___walkbench__ipis_sent_per_op") >= 0.95)
        #expect(try value(irq, "sde___walkbench__ipis_sent_per_op") <= 1.05)
        for row in [none, irq] {
            #expect(try value(row, "sde___walkbench__tables_freed_per_op") >= 0.95)
            #expect(try value(row, "sde___walkbench__tables_freed_per_op") <= 1.05)
            #expect(row[header.firstIndex(of: "counters_note")!] == "")
        }
    }
}
