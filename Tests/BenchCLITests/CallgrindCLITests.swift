// End-to-end tests of `bench run --callgrind`: the real debug binary (built by `swift build --product
// bench`, as the README's test command does) runs its own hidden child under valgrind. Small sizes
// throughout (an 8 MiB mapping, a few hundred to 2000 counted walks): valgrind runs the debug build
// some 50 times slower than native, about 3 s per child here.

import Foundation
import Testing
import WalkBench

/// A fresh working directory holding a small read-mostly workload file, `small.json` (8 MiB, dense).
private func makeWorkDir() throws -> TempDir {
    let dir = try TempDir()
    try dir.write("small.json", #"{ "name": "rm-small", "kind": "read-mostly", "mapped": "8MiB" }"#)
    return dir
}

/// The data rows of a result CSV, keyed by column; checks the cg_ columns close the header.
private func cgRows(_ path: String) throws -> [[String: String]] {
    let rows = CSV.parse(try String(contentsOfFile: path, encoding: .utf8))
    let header = try #require(rows.first)
    #expect(Array(header.suffix(Callgrind.columns.count)) == Callgrind.columns)
    #expect(Array(header.prefix(Columns.all.count)) == Columns.all)
    return rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
}

private func cgValues(_ row: [String: String]) -> [String] { Callgrind.columns.map { row[$0] ?? "" } }

private let cgTiming = ["--readers", "1", "--duration", "0.02", "--warmup", "0", "--processes", "1"]

@Suite(.serialized) struct CallgrindCLITests {
    static let valgrindHere = Callgrind.findValgrind() != nil

    /// (a) The same scenarios twice: every cg_ value identical, run to run and repetition to repetition.
    /// (b, lookup) Ir per walk is plausible, and irq-disable costs instructions over none.
    @Test(.enabled(if: valgrindHere, "valgrind is not on PATH"))
    func twoRunsCountTheSame() throws {
        let dir = try makeWorkDir()
        defer { dir.remove() }
        func run(_ output: String) throws -> [[String: String]] {
            let r = try runBench(["run", "--callgrind", "--callgrind-walks", "2000", "--strategies", "none,irq-disable",
                                    "--walkers", "lookup", "--workload-file", "small.json", "--repetitions", "2",
                                    "--output", output] + cgTiming, in: dir)
            try #require(r.status == 0, "\(r.transcript)")
            return try cgRows(dir.path(output))
        }
        let first = try run("a.csv"), second = try run("b.csv")
        #expect(first.count == 4 && second.count == 4)
        var ir: [String: Double] = [:]
        for strategy in ["none", "irq-disable"] {
            let a = first.filter { $0["strategy"] == strategy }, b = second.filter { $0["strategy"] == strategy }
            try #require(a.count == 2 && b.count == 2)
            let values = cgValues(a[0])
            #expect(!values.contains(""), "\(strategy): \(values)")
            #expect(cgValues(a[1]) == values, "repetitions of one scenario share its count")
            #expect(cgValues(b[0]) == values && cgValues(b[1]) == values, "\(strategy): run 1 \(values), run 2 \(cgValues(b[0]))")
            #expect(a[0]["cg_walks"] == "2000")
            let perWalk = try #require(Double(a[0]["cg_ir_per_walk"] ?? ""))
            #expect(perWalk > 10 && perWalk < 100_000, "\(strategy): \(perWalk) instructions per walk")
            ir[strategy] = perWalk
        }
        // irq-disable's window is a store each way and a pending-IPI test: more instructions than none.
        #expect(ir["irq-disable"]! > ir["none"]!)
    }

    /// (b) Dispatch kinds of the callback walker. callgrind treats every `ret` as perfectly predicted
    /// (it counts Bi only for indirect jumps and calls, "assume the return stack predictor never
    /// mispredicts"), and a retpoline turns `call *%r11` into direct calls plus a `ret`. So in callgrind's
    /// model a retpoline shows as more instructions than the plain indirect call and as FEWER indirect
    /// branch mispredictions, not more: that is what is asserted, on the same C source built both ways.
    @Test(.enabled(if: valgrindHere, "valgrind is not on PATH"))
    func retpolineShowsAsInstructionsNotIndirectMispredictions() throws {
        let dir = try makeWorkDir()
        defer { dir.remove() }
        let kinds = Walkers.dispatches(of: "callback")
        let pair = kinds.contains("c-retpoline") && kinds.contains("c-indirect") ? ("c-indirect", "c-retpoline") : ("direct", "existential")
        let r = try runBench(["run", "--callgrind", "--callgrind-walks", "300", "--strategies", "none", "--walkers", "callback",
                                "--dispatch", "\(pair.0),\(pair.1)", "--span", "64KiB", "--workload-file", "small.json",
                                "--repetitions", "1", "--output", "cb.csv"] + cgTiming, in: dir)
        try #require(r.status == 0, "\(r.transcript)")
        let rows = try cgRows(dir.path("cb.csv"))
        func value(_ dispatch: String, _ column: String) throws -> Double {
            let row = try #require(rows.first { $0["dispatch"] == dispatch }, "no \(dispatch) row")
            return try #require(Double(row[column] ?? ""), "\(dispatch) \(column): \(row[column] ?? "nil")")
        }
        if pair.1 == "c-retpoline" {
            #expect(try value("c-retpoline", "cg_ir_per_walk") > value("c-indirect", "cg_ir_per_walk"))
            #expect(try value("c-retpoline", "cg_bim_per_walk") < value("c-indirect", "cg_bim_per_walk"))
            #expect(try value("c-indirect", "cg_bim_per_walk") > 0)
        } else {
            // Without the C kinds: an existential's witness-table calls are indirect; direct's inline.
            #expect(try value("existential", "cg_bim_per_walk") > value("direct", "cg_bim_per_walk"))
        }
    }

    /// --extra-work shows in callgrind's counts exactly, two runs of one build count the same, and
    /// `bench check --callgrind` passes the same walks and fails the heavier ones.
    @Test(.enabled(if: valgrindHere, "valgrind is not on PATH"))
    func extraWorkIsCaughtExactly() throws {
        let dir = try makeWorkDir()
        defer { dir.remove() }
        func run(_ output: String, extraWork: String) throws -> Double {
            let r = try runBench(["run", "--callgrind", "--callgrind-walks", "1000", "--strategies", "none", "--walkers", "lookup",
                                  "--workload-file", "small.json", "--repetitions", "1", "--extra-work", extraWork,
                                  "--output", output] + cgTiming, in: dir)
            try #require(r.status == 0, "\(r.transcript)")
            return try #require(Double(try cgRows(dir.path(output))[0]["cg_ir_per_walk"] ?? ""))
        }
        let a = try run("a.csv", extraWork: "0"), b = try run("b.csv", extraWork: "0"), c = try run("c.csv", extraWork: "20")
        #expect(a == b)
        #expect(c - a >= 20, "20 dependent additions add at least 20 instructions per walk: \(a) -> \(c)")
        let saved = try runBench(["baseline", "save", "cg", "a.csv"], in: dir)
        try #require(saved.status == 0, "\(saved.transcript)")
        let same = try runBench(["check", "--baseline", "cg", "--callgrind", "--candidate", "b.csv"], in: dir)
        #expect(same.status == 0, "\(same.transcript)")
        let heavier = try runBench(["check", "--baseline", "cg", "--callgrind", "--candidate", "c.csv"], in: dir)
        #expect(heavier.status == 1, "\(heavier.transcript)")
        #expect(heavier.stdout.contains("cg_ir_per_walk") && heavier.stdout.contains("worse"), "\(heavier.transcript)")
    }

    /// (c) --callgrind with no valgrind on PATH: one line naming valgrind, exit 2, nothing written.
    @Test func noValgrindOnPathIsBadInput() throws {
        let dir = try makeWorkDir()
        defer { dir.remove() }
        let emptyBin = dir.path("empty-bin")
        try FileManager.default.createDirectory(atPath: emptyBin, withIntermediateDirectories: true)
        let r = try runBench(["run", "--callgrind", "--strategies", "none", "--workload-file", "small.json",
                                "--repetitions", "1", "--output", "out.csv"] + cgTiming, in: dir, path: emptyBin)
        #expect(r.status == 2, "\(r.transcript)")
        #expect(r.stderrLines.count == 1, "\(r.transcript)")
        #expect(r.stderrLines.first?.contains("valgrind") == true, "\(r.transcript)")
        #expect(r.stdout.isEmpty, "\(r.transcript)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("out.csv")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path).sorted() == ["empty-bin", "small.json"])

        // Without --callgrind the same PATH is no problem for the checks (the run is not started here:
        // --callgrind-walks alone is refused first).
        let alone = try runBench(["run", "--callgrind-walks", "10", "--strategies", "none", "--workload-file", "small.json",
                                    "--output", "out.csv"] + cgTiming, in: dir, path: emptyBin)
        #expect(alone.status == 2 && alone.stderrLines.count == 1 && alone.stderr.contains("--callgrind-walks needs --callgrind"),
                "\(alone.transcript)")
    }

    /// Bad values of the options are one line and exit 2 (checked before valgrind is looked for).
    @Test(arguments: [
        (["--callgrind", "--callgrind-walks", "0"], "--callgrind-walks"),
        (["--callgrind", "--callgrind-walks", "abc"], "abc"),
        (["--callgrind", "--window-delay-ns", "100"], "--window-delay-ns"),
    ])
    func badCallgrindOptions(_ options: [String], _ mention: String) throws {
        let dir = try makeWorkDir()
        defer { dir.remove() }
        let r = try runBench(["run", "--strategies", "none", "--workload-file", "small.json", "--output", "out.csv"]
                               + options + cgTiming, in: dir)
        #expect(r.status == 2, "\(r.transcript)")
        #expect(r.stderrLines.count == 1 && r.stderr.contains(mention), "\(r.transcript)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("out.csv")))
    }
}
