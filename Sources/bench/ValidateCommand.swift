import ArgumentParser
import Foundation
import WalkBench

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "The oracle matrix: every strategy × walker under writer pressure, and the seed scenarios. Exit 1 if any verdict differs from the expected one.")

    @Option(help: "Strategies to validate, comma-separated (default: all).")
    var strategies: String?
    @Option(help: "Scenarios, comma-separated (default: all; see the list in --help of bench validate or README).")
    var scenarios: String?
    @Option(parsing: .unconditional, help: "Seconds per harness cell (default 0.5).")
    var duration: String?
    @Option(name: .customLong("window-delay-ns"), parsing: .unconditional, help: "Spin inside each walk before its last table read, to widen race windows (default 300).")
    var windowDelay: String?

    func validate() throws { _ = try plan() }

    func plan() throws -> ([Validation.Cell], Validation.Settings) {
        func names(_ s: String?, _ option: String, allowed: [String]) throws -> [String]? {
            guard let s else { return nil }
            let items = s.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            for item in items where !allowed.contains(item) {
                throw ValidationError("--\(option): unknown value \"\(item)\"; allowed: \(allowed.joined(separator: ", "))")
            }
            return items
        }
        var settings = Validation.Settings()
        if let duration {
            guard let v = Double(duration), v.isFinite, v > 0, v <= 600 else {
                throw ValidationError("--duration: \"\(duration)\" is not allowed; use a number of seconds above 0 up to 600")
            }
            settings.duration = v
        }
        if let windowDelay {
            guard let v = UInt64(windowDelay), v <= 1_000_000 else {
                throw ValidationError("--window-delay-ns: \"\(windowDelay)\" is not allowed; use a whole number from 0 to 1000000")
            }
            settings.windowDelayNanoseconds = v
        }
        let cells = Validation.cells(
            scenarios: try names(scenarios, "scenarios", allowed: Validation.scenarios.map(\.name)),
            strategies: try names(strategies, "strategies", allowed: Validation.strategyNames))
        guard !cells.isEmpty else { throw ValidationError("nothing to validate: no cell matches those scenarios and strategies") }
        return (cells, settings)
    }

    func run() throws {
        let (cells, settings) = try plan()
        let environment = RunEnvironment.capture()
        let runner = Runner(timeBase: TimeBase.calibrate(invariantTSC: environment.invariantTSC))
        if environment.build == "debug" { warn("bench: this is a debug build; verdicts hold, timings do not.") }
        let header = ["scenario", "strategy", "walker", "expected", "verdict", "", "evidence"]
        var table = [header]
        var mismatches = 0
        let progress = Progress(total: cells.count)
        for (i, cell) in cells.enumerated() {
            progress.step(i + 1, "\(cell.scenario) \(cell.strategy) \(cell.walker)")
            let outcome: Validation.Outcome
            do { outcome = try Validation.run(cell, runner: runner, settings: settings) } catch {
                mismatches += 1
                table.append([cell.scenario, cell.strategy, cell.walker, cell.expected.rawValue, "ERROR", "MISMATCH", "\(error)"])
                continue
            }
            if !outcome.matches { mismatches += 1 }
            let o = outcome.observation
            var evidence = "\(o.trials) \(o.unit)"
            if let freed = o.tablesFreed { evidence += ", \(freed) tables freed" }
            table.append([cell.scenario, cell.strategy, cell.walker, cell.expected.rawValue, outcome.verdict,
                          outcome.matches ? "ok" : "MISMATCH", evidence])
        }
        progress.finish()
        let widths = (0..<header.count).map { c in table.map { $0[c].count }.max()! }
        for row in table {
            print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                    .trimmingCharacters(in: .whitespaces))
        }
        print("\(cells.count - mismatches) of \(cells.count) cells as expected")
        if mismatches > 0 { throw RunFailure(message: "validate: \(mismatches) verdict(s) differ from the expected ones") }
    }
}
