// `bench run --callgrind`'s library side without valgrind: the child's arguments, its counted walks run
// natively (the collection toggles are no-ops outside valgrind), and the parsing of callgrind's output.
// The runs under valgrind are in Tests/BenchCLITests/CallgrindCLITests.swift.

import Foundation
import Testing
@testable import WalkBench

@Suite struct CallgrindTests {
    /// A scenario whose workload is not a preset (as from a workload file), with non-default options.
    static func oddScenario() -> Scenario {
        var w = ReadMostly.preset
        w.name = "odd.one"
        w.mappedBytes = 3 << 20
        w.density = 0.3
        w.hugeFraction = 0.25
        var s = Scenario(geometry: .arm64_4k_3level, workload: w, strategy: "irq-disable", walker: "lookup", readers: 2,
                         writers: 1, oracle: false, walkOptions: WalkOptions(span: 12_288, takeReference: false),
                         timing: Timing(batch: 100), seed: 42)
        s.protectionOptions.batchFailRate = 0.125
        return s
    }

    @Test func requestRoundTripsThroughArguments() throws {
        let request = Callgrind.ChildRequest(Self.oddScenario(), walks: 1234)
        let parsed = try Callgrind.ChildRequest(arguments: request.arguments)
        #expect(parsed == request)
        let s = parsed.scenario
        #expect(s.geometry.name == "arm64-4k-3l")
        #expect(s.workload.name == "odd.one")
        #expect(s.workload.mappedBytes == 3 << 20)
        #expect(s.workload.density == 0.3)
        #expect(s.workload.hugeFraction == 0.25)
        #expect(s.readers == 1 && s.writers == 0)
        #expect(s.oracle == false)
        #expect(s.walkOptions == WalkOptions(span: 12_288, takeReference: false))
        #expect(s.timing.batch == 100)
        #expect(s.seed == 42)
        #expect(s.protectionOptions.batchFailRate == 0.125)
        #expect(parsed.walks == 1234)
    }

    @Test func requestIgnoresThreadCountsAndTiming() {
        var a = Self.oddScenario(), b = Self.oddScenario()
        b.readers = 7
        b.writers = 0
        b.timing.duration = 5
        b.timing.repetitions = 9
        a.timing.warmup = 0
        #expect(Callgrind.ChildRequest(a, walks: 10) == Callgrind.ChildRequest(b, walks: 10))
        b.seed = 43
        #expect(Callgrind.ChildRequest(a, walks: 10) != Callgrind.ChildRequest(b, walks: 10))
    }

    @Test func badChildArgumentsAreNamed() {
        let good = Callgrind.ChildRequest(Self.oddScenario(), walks: 5).arguments
        var zeroWalks = good
        zeroWalks[zeroWalks.firstIndex(of: "--walks")! + 1] = "0"
        let cases: [([String], String)] = [
            (good + ["--bogus", "1"], "\"--bogus\""),
            (good + ["--walks"], "--walks needs a value"),
            (good + ["--seed", "1"], "--seed given twice"),
            (zeroWalks, "--walks \"0\""),
            (Array(good.dropFirst(2)), "missing --geometry"),
        ]
        for (args, mention) in cases {
            #expect {
                _ = try Callgrind.ChildRequest(arguments: args)
            } throws: { error in
                "\(error)".contains(mention)
            }
        }
    }

    /// What a child reports, run natively on a fresh CPU thread as the child's main thread would run it.
    static func runNatively(_ request: Callgrind.ChildRequest) throws -> Callgrind.ChildReport {
        final class Box: @unchecked Sendable { var result: Result<Callgrind.ChildReport, Error>? }
        let box = Box()
        let t = try CPUThread { box.result = Result { try Callgrind.runChild(request) } }
        t.join()
        return try box.result!.get()
    }

    @Test(arguments: ["none", "irq-disable", "counted", "rcu-qsbr", "rcu-memb", "mmap-lock"])
    func childCountsExactlyTheWalksAskedFor(strategy: String) throws {
        var w = ReadMostly.preset
        w.mappedBytes = 4 << 20
        let s = Scenario(geometry: .x86_64_4level, workload: w, strategy: strategy, walker: "lookup", readers: 1, writers: 0)
        let report = try Self.runNatively(Callgrind.ChildRequest(s, walks: 777))
        #expect(report.walks == 777)
        #expect(report.leaves == 777)  // dense, no huge leaves: every lookup finds its page
        #expect(report.uaf == 0)
        #expect(report.retries == 0)
        #expect(report.valgrind == 0)
        #expect(Callgrind.ChildReport(output: "noise\n" + report.line + "\n") == report)
    }

    @Test func childRunsTheCallbackWalkerUnderEveryDispatch() throws {
        var w = ReadMostly.preset
        w.mappedBytes = 4 << 20
        for d in Walkers.dispatches(of: "callback") {
            var s = Scenario(geometry: .x86_64_4level, workload: w, strategy: "none", walker: "callback", readers: 1, writers: 0,
                             walkOptions: WalkOptions(span: 64 << 10))
            s.dispatch = d
            let report = try Self.runNatively(Callgrind.ChildRequest(s, walks: 50))
            #expect(report.walks == 50, "\(d)")
            #expect(report.leaves == 50 * 16, "\(d)")  // 64 KiB of 4 KiB pages, all present
        }
    }

    static let sampleOutput = """
        # callgrind format
        version: 1
        creator: callgrind-3.19.0
        cmd: bench callgrind-child
        part: 1

        desc: I1 cache: 32768 B, 64 B, 8-way associative
        desc: LL cache: 268435456 B, 64 B, direct-mapped

        positions: line
        events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw Bc Bcm Bi Bim
        summary: 1000 300 200 3 40 4 3 2 1 90 9 20 5

        fl=(1) ???
        fn=(1) 0x0000000000012345
        0 1000 300 200 3 40 4 3 2 1 90 9 20 5

        totals: 1000 300 200 3 40 4 3 2 1 90 9 20 5
        """

    @Test func parsesEventsAndTotals() throws {
        let totals = try Callgrind.parseOutput(Self.sampleOutput)
        #expect(totals["Ir"] == 1000)
        #expect(totals["Bcm"] == 9)
        #expect(totals["Bim"] == 5)
        #expect(totals["D1mr"] == 40)
        #expect(totals["DLmr"] == 2)
        let counts = Callgrind.Counts(totals: totals, walks: 8)
        #expect(Callgrind.columns == ["cg_ir_per_walk", "cg_bcm_per_walk", "cg_bim_per_walk", "cg_d1mr_per_walk",
                                      "cg_llmr_per_walk", "cg_walks"])
        #expect(counts.fields == ["125", "1.125", "0.625", "5", "0.25", "8"])
    }

    @Test func sumsPartsAndReadsMissingTrailingCountsAsZero() throws {
        let text = "events: Ir Bc Bcm\ntotals: 10 4\ntotals: 5 1 1\n"
        #expect(try Callgrind.parseOutput(text) == ["Ir": 15, "Bc": 5, "Bcm": 1])
        // No totals: line: the summary: line.
        #expect(try Callgrind.parseOutput("events: Ir\nsummary: 7\n") == ["Ir": 7])
    }

    @Test func rejectsOutputWithoutEventsOrTotals() {
        #expect(throws: Callgrind.Failure.self) { try Callgrind.parseOutput("totals: 1 2\n") }
        #expect(throws: Callgrind.Failure.self) { try Callgrind.parseOutput("events: Ir\n") }
        #expect(throws: Callgrind.Failure.self) { try Callgrind.parseOutput("events: Ir\ntotals: x\n") }
    }

    @Test func findsValgrindOnlyOnThePathGiven() throws {
        #expect(Callgrind.findValgrind(path: "") == nil)
        #expect(Callgrind.findValgrind(path: "/nonexistent-walkbench:/also-not-there") == nil)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("walkbench-cg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let fake = dir.appendingPathComponent("valgrind").path
        #expect(FileManager.default.createFile(atPath: fake, contents: Data("#!/bin/sh\n".utf8),
                                               attributes: [.posixPermissions: 0o755]))
        #expect(Callgrind.findValgrind(path: "/nonexistent-walkbench:" + dir.path) == fake)
    }

    @Test func ownExecutableIsThisProcess() throws {
        let exe = try #require(Callgrind.ownExecutable())
        #expect(FileManager.default.isExecutableFile(atPath: exe))
    }
}
