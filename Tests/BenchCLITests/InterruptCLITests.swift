import Foundation
import Testing
import WalkBench

/// Interrupted and failing runs lose nothing: SIGINT and SIGTERM keep the cells already finished,
/// outputs that cannot be written are refused before measuring, and two runs never overwrite each
/// other. Each waits for an event in the child's stderr (deadline, not a sleep) before it acts.
@Suite(.serialized) struct InterruptCLITests {
    /// Twenty cells of 0.3 s: the signal, sent when the second cell starts, lands long before the end
    /// however slow the machine, and the run stops after the cell it is in.
    static let longRun: [String] = [
        "run", "--strategies", "none,counted,counted-percpu,rcu-memb,rcu-qsbr", "--workloads", "read-mostly",
        "--readers", "1,2", "--walkers", "lookup,range", "--duration", "0.3", "--warmup", "0", "--repetitions", "1",
    ]

    static func dataRows(_ path: String) throws -> [[String]] {
        let table = CSV.parse(try String(contentsOfFile: path, encoding: .utf8))
        let header = try #require(table.first)
        #expect(header == Columns.all)
        for fields in table.dropFirst() { #expect(fields.count == header.count, "a partial row: \(fields)") }
        return Array(table.dropFirst())
    }

    @Test func sigintKeepsTheFinishedCells() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let out = dir.path("out.csv")
        let r = try runBench(Self.longRun + ["--processes", "1", "--output", out], in: dir) { process, stderr in
            #expect(waitUntil { stderr().contains("[2/20]") }, "the second cell never started")
            kill(process.processIdentifier, SIGINT)
        }
        #expect(r.status == 130, "\(r.transcript)")
        #expect(r.stdout.contains("complete=no: stopped by SIGINT"), "\(r.transcript)")
        let rows = try Self.dataRows(out)
        // One process, one repetition: a row per finished cell.
        #expect(rows.count >= 1 && rows.count < 20, "\(rows.count) cells written")
        let files = try dir.contents()
        #expect(files.filter { $0.hasPrefix(".") }.isEmpty, "a temporary file was left behind: \(files)")
    }

    /// SIGTERM to the parent alone (as a service manager or CI timeout sends it): the measuring child
    /// is told too, finishes its cell and hands its rows over; no later process starts.
    @Test func sigtermToTheParentStopsTheProcessesAndKeepsTheirRows() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let out = dir.path("out.csv")
        var parent: Int32 = 0
        let r = try runBench(Self.longRun + ["--processes", "3", "--output", out], in: dir) { process, stderr in
            parent = process.processIdentifier
            #expect(waitUntil { stderr().contains("process 2/3 [2/20]") }, "process 2 never reached its second cell")
            kill(process.processIdentifier, SIGTERM)
        }
        #expect(r.status == 143, "\(r.transcript)")
        let header = try #require(CSV.parse(try String(contentsOfFile: out, encoding: .utf8)).first)
        let processColumn = try #require(header.firstIndex(of: "process"))
        let processes = Set(try Self.dataRows(out).map { $0[processColumn] })
        #expect(processes.contains("1") && processes.contains("2") && !processes.contains("3"), "\(processes)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("walkbench-\(parent)-") }
        #expect(leftovers.isEmpty, "the plan directory was left behind: \(leftovers)")
    }

    @Test func outputsThatCannotBeWrittenAreRefusedBeforeMeasuring() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path("adir"), withIntermediateDirectories: false)
        let tiny = ["run", "--strategies", "none", "--workloads", "read-mostly", "--readers", "1", "--duration", "0.05",
                    "--warmup", "0", "--repetitions", "1", "--processes", "1"]
        let intoDirectory = try runBench(tiny + ["--output", dir.path("adir"), "--force"], in: dir)
        #expect(intoDirectory.status == 2, "\(intoDirectory.transcript)")
        #expect(intoDirectory.stderrLines.count == 1 && intoDirectory.stderr.contains("is a directory"), "\(intoDirectory.transcript)")
        // /proc takes no new files, even from root, whom access(2) would let through.
        let proc = try runBench(tiny + ["--output", "/proc/walkbench-test.csv"], in: dir)
        #expect(proc.status == 2, "\(proc.transcript)")
        #expect(proc.stderr.contains("/proc"), "\(proc.transcript)")
        #expect(!proc.stderr.contains("[1/"), "it measured before refusing: \(proc.transcript)")
    }

    /// Two runs at once, both writing to the default place: each keeps its own file.
    @Test func twoRunsAtOnceDoNotOverwriteEachOther() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let tiny = ["run", "--strategies", "none", "--workloads", "read-mostly", "--readers", "1", "--duration", "0.05",
                    "--warmup", "0", "--repetitions", "1", "--processes", "1"]
        let other = Mutex<BenchResult?>(nil)
        let second = Thread { other.withLock { $0 = try? runBench(tiny, in: dir) } }
        second.start()
        let first = try runBench(tiny, in: dir)
        #expect(waitUntil { other.withLock { $0 != nil } }, "the second run never finished")
        let both = [first, try #require(other.withLock { $0 })]
        for r in both { #expect(r.status == 0, "\(r.transcript)") }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path("results/runs")).filter { $0.hasSuffix(".csv") }
        #expect(files.count == 2, "\(files)")
        for f in files { #expect(try Self.dataRows(dir.path("results/runs/\(f)")).count == 1) }
    }
}

import Synchronization
