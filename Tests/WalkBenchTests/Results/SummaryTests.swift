import Testing
@testable import WalkBench

/// A result row with the columns the summary reads; one process, one repetition unless said.
private func row(strategy: String = "none", walker: String = "lookup", dispatch: String = "n/a", readers: Int = 1,
                 writers: Int = 0, process: Int = 1, ns: Double, leaves: Int? = nil, extra: [String: String] = [:]) -> ResultRow {
    var r = ResultRow()
    let fields: [String: String] = [
        "run_id": "r", "geometry": "x86-64-4l", "workload": "read-mostly", "strategy": strategy, "walker": walker,
        "dispatch": dispatch, "readers": String(readers), "writers": String(writers), "repetition": "1",
        "process": String(process), "processes": "3", "lazy_tlb": "n/a", "oracle": "on", "take_ref": "on",
        "ns_per_walk_mean": String(ns), "ns_per_walk_p50": String(ns + 1), "ns_per_walk_p99": String(ns * 3),
        "walks": "1000", "uaf_detected": "0", "writer_ops": "10",
    ]
    for (k, v) in fields.merging(extra, uniquingKeysWith: { $1 }) { r[k] = v }
    if let leaves {
        r["leaves"] = String(leaves * 1000)
        r["ns_per_leaf_mean"] = String(ns / Double(leaves))
    }
    return r
}

/// The cells of the line labelled `label` (the text after the label, split on runs of spaces).
private func line(_ table: String, _ label: String) -> [String]? {
    for l in table.split(separator: "\n") {
        guard let r = l.range(of: label + "  ") else { continue }
        return l[r.upperBound...].split(separator: " ", omittingEmptySubsequences: true).map(String.init)
    }
    return nil
}

@Suite("summary table")
struct SummaryTests {
    @Test("strategies in the columns: ratio and ns added over the reference, per line")
    func strategiesAreColumns() throws {
        let rows = (1...3).flatMap { p in
            [row(strategy: "none", process: p, ns: 20), row(strategy: "counted", process: p, ns: 35)]
        }
        let t = Summary.render(rows, reference: "none")
        #expect(t.contains("== read-mostly · walker lookup · x86-64-4l · median over 3 processes"), "\(t)")
        let header = try #require(t.split(separator: "\n").dropFirst().first)
        #expect(header.contains("none") && header.contains("counted"))
        #expect(line(t, "×none") == ["1", "1.75"], "\(t)")
        #expect(line(t, "+ns/walk over none") == ["0", "+15"], "\(t)")
        #expect(line(t, "ns/walk p50 / p99") == ["21", "/", "60", "36", "/", "105"], "\(t)")
    }

    @Test("one strategy, several walkers and dispatch kinds: the walkers are the columns")
    func walkersAreColumns() throws {
        let rows = (1...3).flatMap { p in
            [row(walker: "callback", dispatch: "c-indirect", process: p, ns: 1024, leaves: 512),
             row(walker: "callback", dispatch: "c-retpoline", process: p, ns: 4608, leaves: 512),
             row(walker: "iterator", process: p, ns: 1536, leaves: 512)]
        }
        let t = Summary.render(rows, reference: "none")
        // One block: the strategy is fixed and said in the heading; no single-column "×none" of 1.
        #expect(t.components(separatedBy: "\n== ").count == 2, "\(t)")
        #expect(t.contains("· strategy none ·"), "\(t)")
        #expect(line(t, "×callback/c-indirect") == ["1", "4.5", "1.5"], "\(t)")
        #expect(line(t, "+ns/walk over callback/c-indirect") == ["0", "+3584", "+512"], "\(t)")
        // Per leaf (one pte_entry call per leaf): 2 ns, 9 ns, 3 ns; the retpoline adds 7 ns a call.
        #expect(line(t, "ns/leaf mean") == ["2", "9", "3"], "\(t)")
        #expect(line(t, "+ns/leaf over callback/c-indirect") == ["0", "+7", "+1"], "\(t)")
        #expect(line(t, "leaves/walk") == ["512", "512", "512"], "\(t)")
    }

    @Test("one strategy and walker, several thread counts: the threads are the columns")
    func threadsAreColumns() {
        let rows = [row(readers: 1, ns: 20), row(readers: 2, ns: 30)]
        let t = Summary.render(rows, reference: nil)
        #expect(line(t, "×r1 w0") == ["1", "1.5"], "\(t)")
    }

    @Test("with writers: the writer's side, percentiles and pending memory are shown")
    func writerLines() {
        let extra = ["writer_wait_us_p50": "10", "writer_wait_us_p99": "20", "writer_latency_us_p50": "3",
                     "writer_latency_us_p99": "9", "ipis_sent": "10", "bytes_pending_peak": "8192"]
        let rows = [row(strategy: "none", writers: 1, ns: 20, extra: extra), row(strategy: "irq-disable", writers: 1, ns: 22, extra: extra)]
        let t = Summary.render(rows, reference: "none")
        #expect(line(t, "free wait µs p50 / p99") == ["10", "/", "20", "10", "/", "20"], "\(t)")
        #expect(line(t, "writer op µs p50 / p99") == ["3", "/", "9", "3", "/", "9"], "\(t)")
        #expect(line(t, "IPIs/op") == ["1", "1"], "\(t)")
        #expect(line(t, "pending KiB peak") == ["8", "8"], "\(t)")
        #expect(t.contains("r1 w1"), "\(t)")
    }

    @Test("a cell whose every repetition was disturbed shows its figure marked unstable, not a dash")
    func disturbedCellsStillShow() {
        let rows = (1...3).flatMap { p in
            [row(strategy: "none", process: p, ns: 20, extra: ["disturbed": "yes"]),
             row(strategy: "counted", process: p, ns: 30, extra: ["disturbed": "yes"])]
        }
        let t = Summary.render(rows, reference: "none")
        let cells = line(t, "ns/walk mean") ?? []
        #expect(cells.first?.hasPrefix("20") == true && cells.allSatisfy { !$0.contains("-") }, "\(t)")
        #expect(cells.contains { $0.hasSuffix("!") }, "\(t)")
        #expect(line(t, "×none") == ["1", "1.5"], "\(t)")
    }

    @Test("no rows, no table")
    func empty() { #expect(Summary.render([], reference: nil).isEmpty) }
}
