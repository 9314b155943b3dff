import Foundation
import Testing
@testable import WalkBench

/// The Promela models in Models/ and the Swift code name the same protocol steps, strategies and
/// forced-schedule cases. These tests read the model sources and scripts/verify's run table (no spin
/// needed), so a renamed or dropped point, strategy or case fails here instead of silently leaving a
/// model that checks something the code no longer has.
struct ProtocolModelTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let models = root.appendingPathComponent("Models")

    static func modelSources() throws -> [(name: String, text: String)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: models.path).filter { $0.hasSuffix(".pml") }.sorted()
        return try names.map { ($0, try String(contentsOf: models.appendingPathComponent($0), encoding: .utf8)) }
    }

    /// Every "@point" a model prints: the protocol points its steps are labelled with.
    static func pointsUsed(in text: String) -> Set<String> {
        Set(text.matches(of: /@([a-z][a-z-]*)/).map { String($0.output.1) })
    }

    /// One row of scripts/verify's PROTOCOLS table.
    struct Run {
        let id: String, model: String, memory: String, expected: String, strategies: [String], forcedCase: String
    }

    static func runs() throws -> [Run] {
        let text = try String(contentsOf: root.appendingPathComponent("scripts/verify"), encoding: .utf8)
        let row = /\("([^"]*)", "([a-z_]+\.pml)", "[^"]*", "(TSO|WEAK)", (VERIFIED|CEX), "([^"]*)", "([^"]*)"/
        return text.matches(of: row).map {
            Run(id: String($0.output.1), model: String($0.output.2), memory: String($0.output.3), expected: String($0.output.4),
                strategies: $0.output.5.split(separator: ",").map(String.init), forcedCase: String($0.output.6))
        }
    }

    @Test func everyPointAModelUsesIsAProtocolPoint() throws {
        let known = Set(ProtocolPoint.allCases.map(\.rawValue))
        let sources = try Self.modelSources()
        #expect(sources.count >= 5, "Models/ holds the protocol models")
        for (name, text) in sources {
            for point in Self.pointsUsed(in: text) { #expect(known.contains(point), "\(name) labels a step @\(point), which is not a ProtocolPoint") }
        }
    }

    @Test func everyProtocolPointIsAModelStep() throws {
        let used = try Self.modelSources().reduce(into: Set<String>()) { $0.formUnion(Self.pointsUsed(in: $1.text)) }
        for point in ProtocolPoint.allCases { #expect(used.contains(point.rawValue), "no model step is labelled @\(point.rawValue)") }
    }

    @Test func theRunTableNamesRealModelsStrategiesAndCases() throws {
        let runs = try Self.runs()
        #expect(runs.count >= 30)
        let models = Set(try Self.modelSources().map(\.name))
        let strategies = Set(Validation.strategyNames)
        let safe = Set(Strategies.all.filter { $0.guaranteesSafety && !$0.validationOnly }.map(\.name))
        let cases = Set(ForcedSchedule.cases.map(\.name))
        for r in runs {
            #expect(models.contains(r.model), "\(r.id): no Models/\(r.model)")
            for s in r.strategies { #expect(strategies.contains(s), "\(r.id): no strategy \(s)") }
            if !r.forcedCase.isEmpty { #expect(cases.contains(r.forcedCase), "\(r.id): no forced-schedule case \(r.forcedCase)") }
            // A verified run stands for strategies that promise safety; a broken one only for the
            // validation-only strategy that carries its bug.
            for s in r.strategies {
                #expect(safe.contains(s) == (r.expected == "VERIFIED"), "\(r.id) (\(r.expected)) names \(s)")
            }
        }
    }

    /// Every broken forced-schedule case is also a broken model variant with a counterexample, and every
    /// strategy that promises safety has a model that verifies, or is on the list of those without.
    @Test func modelsCoverTheForcedCasesAndTheSafeStrategies() throws {
        let runs = try Self.runs()
        let brokenModelled = Set(runs.filter { $0.expected == "CEX" }.map(\.forcedCase))
        for c in ForcedSchedule.cases where c.expected == .unsafe && c.strategy != NoProtection.name {
            #expect(brokenModelled.contains(c.name), "forced case \(c.name) has no broken model variant in scripts/verify")
        }
        let verified = Set(runs.filter { $0.expected == "VERIFIED" }.flatMap(\.strategies))
        for s in Strategies.all where s.guaranteesSafety && !s.validationOnly && !ProtocolModels.notModelled.keys.contains(s.name) {
            #expect(verified.contains(s.name), "\(s.name) promises safety and has no model that verifies")
        }
        for name in ProtocolModels.notModelled.keys { #expect(Strategies.names.contains(name), "\(name) is not a strategy") }
    }
}

/// bench validate's model column: which run a cell maps to, and how a verdicts file reads.
struct ProtocolModelColumnTests {
    @Test func everyValidationCellAndForcedCaseMapsToRunsThatExist() throws {
        let ids = Set(try ProtocolModelTests.runs().map(\.id))
        for cell in Validation.cells() {
            for id in ProtocolModels.runs(scenario: cell.scenario, strategy: cell.strategy, walker: cell.walker) {
                #expect(ids.contains(id), "\(cell.scenario) \(cell.strategy) \(cell.walker) maps to a run scripts/verify lacks: \(id)")
            }
        }
        for c in ForcedSchedule.cases {
            for id in ProtocolModels.runs(forcedCase: c) { #expect(ids.contains(id), "forced case \(c.name) maps to a missing run \(id)") }
        }
    }

    /// A cell expected UNSAFE maps to a broken run, a cell expected SAFE to runs that verify (under TSO,
    /// the memory model of the machine the runtime verdict comes from).
    @Test func modelExpectationsAgreeWithTheRuntimeOnes() throws {
        let runs = try ProtocolModelTests.runs()
        for cell in Validation.cells() {
            let mapped = ProtocolModels.runs(scenario: cell.scenario, strategy: cell.strategy, walker: cell.walker)
            let tso = runs.filter { mapped.contains($0.id) && $0.memory == "TSO" }
            guard !tso.isEmpty else { continue }
            let broken = tso.contains { $0.expected == "CEX" }
            #expect(broken == (cell.expected == .unsafe), "\(cell.scenario) \(cell.strategy) \(cell.walker): expected \(cell.expected), model runs \(tso.map(\.id))")
        }
    }

    /// Each forced page case maps to one page-model run, broken exactly when the case is expected UNSAFE.
    @Test func forcedPageCasesMapToPageRuns() throws {
        let runs = try ProtocolModelTests.runs()
        for c in ForcedSchedule.cases where c.pageWalker != nil && c.strategy != MmapLockProtection.name {
            let mapped = ProtocolModels.runs(forcedCase: c)
            let tso = runs.filter { mapped.contains($0.id) && $0.memory == "TSO" }
            #expect(mapped.count == 1 && tso.allSatisfy { $0.model == "page.pml" } && !tso.isEmpty, "\(c.name) maps to \(mapped)")
            #expect(tso.contains { $0.expected == "CEX" } == (c.expected == .unsafe), "\(c.name): expected \(c.expected), model runs \(mapped)")
        }
        for s in ProtocolModels.collapseFlushWaitsForWalkers { #expect(Strategies.names.contains(s), "\(s) is not a strategy") }
    }

    @Test func summaryReadsAVerdictsFile() throws {
        let path = "/tmp/walkbench-verdicts-\(getpid()).tsv"
        let text = """
            run\tmodel\tflags\tmemory\texpected\tverdict\tstates\tdepth\tseconds\tmemory_mb\ttrail_steps\tstrategies\tcounterexample_kind
            counted\tcounted.pml\t\tTSO\tverified\tverified\t7882\t157\t0.1\t9.0\t\tcounted\t
            counted\tcounted.pml\t\tWEAK\tverified\tverified\t27307\t206\t0.1\t9.0\t\tcounted\t
            counted-early-dec\tcounted.pml\t-DEARLY_DEC\tTSO\tcounterexample\tcounterexample\t65\t146\t0.1\t9.0\t95\tcounted-early-dec\tschedule

            """
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let rows = try #require(ProtocolModels.load(path: path))
        #expect(rows.count == 3)
        #expect(ProtocolModels.summary(runs: ["counted"], rows: rows) == "model: TSO verified (7882 states), WEAK verified (27307 states)")
        #expect(ProtocolModels.summary(runs: ["counted-early-dec"], rows: rows) == "model: TSO counterexample")
        #expect(ProtocolModels.summary(runs: ["rcu-qsbr"], rows: rows) == nil)
        #expect(ProtocolModels.load(path: path + ".absent") == nil)
    }
}
