import ArgumentParser
import Foundation
import WalkBench

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "The oracle matrix: every strategy × walker under writer pressure, and the seed scenarios. Exit 1 if any verdict differs from the expected one.",
        discussion: """
            --forced runs the forced schedules (deterministic verdicts); --stress runs every safe strategy \
            for --walks walks under maximum writer pressure. Exit status: 0 as expected; 1 a verdict \
            contradicts its expectation (or a stress run saw a use-after-free); 2 bad input; 3 some \
            randomized cell got no pressure within its bound (undecided, not a mismatch).
            """)

    @Option(help: "Strategies to validate, comma-separated (default: all).")
    var strategies: String?
    @Option(help: "Scenarios, comma-separated (default: all; see the list in --help of bench validate or README).")
    var scenarios: String?
    @Option(parsing: .unconditional, help: "Seconds per harness cell (default 0.5).")
    var duration: String?
    @Option(name: .customLong("window-delay-ns"), parsing: .unconditional, help: "Spin inside each walk before its last table read, to widen race windows (default 300).")
    var windowDelay: String?
    @Flag(help: "Forced schedules instead of the randomized matrix: stop a walker inside its window, free its table under it, and check every strategy's verdict deterministically.")
    var forced = false
    @Option(name: .customLong("case"), help: "With --forced: the cases to run, comma-separated (default: all; `bench validate --forced --list` names them).")
    var cases: String?
    @Option(parsing: .unconditional, help: "With --forced: run the whole schedule this many times (default 1).")
    var runs: String?
    @Option(parsing: .unconditional, help: "With --forced: the seed that picks the walked address (default \(ForcedSchedule.Settings().seed)).")
    var seed: String?
    @Option(help: "With --forced: the geometry (default x86-64-4l).")
    var geometry: String?
    @Flag(help: "With --forced: list the cases and exit.")
    var list = false
    @Flag(help: "Stress: every safe strategy walks --walks times under the most writer pressure, on every geometry, walkers taken in turn, alternate cells oversubscribed; reports frees made while walks were open and detections (must be 0). Minutes; not for CI.")
    var stress = false
    @Option(parsing: .unconditional, help: "With --stress: walks per strategy (default 100000000).")
    var walks: String?

    func validate() throws {
        if forced && stress { throw ValidationError("--forced and --stress are two different runs; pick one") }
        if stress { _ = try stressPlan() } else if forced { _ = try forcedPlan() } else {
            try refuse([(walks != nil, "--walks")], "applies only with --stress")
            try refuse(forcedOptions, "applies only with --forced")
            _ = try plan()
        }
    }

    /// The options of one mode, each with whether it was given: a mode refuses the others' options.
    var forcedOptions: [(given: Bool, name: String)] {
        [(cases != nil, "--case"), (runs != nil, "--runs"), (seed != nil, "--seed"), (geometry != nil, "--geometry"), (list, "--list")]
    }
    var matrixOptions: [(given: Bool, name: String)] {
        [(scenarios != nil, "--scenarios"), (duration != nil, "--duration"), (windowDelay != nil, "--window-delay-ns")]
    }

    /// One line naming the first option given that this mode does not take.
    func refuse(_ options: [(given: Bool, name: String)], _ why: String) throws {
        if let o = options.first(where: \.given) { throw ValidationError("\(o.name) \(why)") }
    }

    func forcedPlan() throws -> (cases: [ForcedSchedule.Case], runs: Int, settings: ForcedSchedule.Settings) {
        try refuse([(strategies != nil, "--strategies")] + matrixOptions, "does not apply with --forced (use --case)")
        try refuse([(walks != nil, "--walks")], "applies only with --stress")
        var chosen = ForcedSchedule.cases
        if let cases {
            let names = cases.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            chosen = try names.map { name in
                guard let c = ForcedSchedule.cases.first(where: { $0.name == name }) else {
                    throw ValidationError("--case: unknown value \"\(name)\"; allowed: \(ForcedSchedule.cases.map(\.name).joined(separator: ", "))")
                }
                return c
            }
        }
        var n = 1
        if let runs {
            guard let v = Int(runs), (1...10_000).contains(v) else { throw ValidationError("--runs: \"\(runs)\" is not allowed; use a whole number from 1 to 10000") }
            n = v
        }
        var settings = ForcedSchedule.Settings()
        if let seed {
            guard let v = UInt64(seed) else { throw ValidationError("--seed: \"\(seed)\" is not allowed; use a whole number from 0 to \(UInt64.max)") }
            settings.seed = v
        }
        if let geometry {
            guard let g = Geometry.presets.first(where: { $0.name == geometry }) else {
                throw ValidationError("--geometry: unknown value \"\(geometry)\"; allowed: \(Geometry.presets.map(\.name).joined(separator: ", "))")
            }
            settings.geometry = g
        }
        return (chosen, n, settings)
    }

    func stressPlan() throws -> (cells: [Stress.Cell], walks: UInt64) {
        try refuse(matrixOptions + forcedOptions, "does not apply with --stress")
        let safe = Strategies.all.filter { $0.guaranteesSafety && !$0.validationOnly }.map(\.name)
        var chosen = safe
        if let strategies {
            chosen = try strategies.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }.map {
                guard safe.contains($0) else { throw ValidationError("--strategies: \"\($0)\" is not allowed with --stress; allowed (the strategies that promise safety): \(safe.joined(separator: ", "))") }
                return $0
            }
        }
        var n: UInt64 = 100_000_000
        if let walks {
            guard let v = UInt64(walks), v >= 1, v <= 1_000_000_000_000 else {
                throw ValidationError("--walks: \"\(walks)\" is not allowed; use a whole number from 1 to 1000000000000")
            }
            n = v
        }
        return (Stress.plan(strategies: chosen, cpus: CPUThread.allowedCPUs.count), n)
    }

    func runStress() throws {
        let (cells, walks) = try stressPlan()
        let environment = RunEnvironment.capture()
        if environment.build == "debug" { warn("bench: this is a debug build; --stress wants a release build (swift run -c release bench ...) to reach its walks in minutes") }
        let runner = Runner(timeBase: TimeBase.calibrate(invariantTSC: environment.invariantTSC))
        warn("bench: --stress: \(cells.count) cells, \(walks) walks per strategy; watchdog on")
        let totals = try Stress.run(cells, walks: walks, runner: runner) { warn("bench: \($0)") }
        let header = ["strategy", "walks", "tables freed", "freed during open walks", "detections", "seconds", "cells (geometry walker threads, seconds)"]
        var table = [header]
        for t in totals {
            table.append([t.strategy, "\(t.walks)" + (t.shortCells > 0 ? " (\(t.shortCells) cell\(t.shortCells == 1 ? "" : "s") hit the 60 s bound)" : ""),
                          "\(t.tablesFreed)", "\(t.freedDuringWalks)", "\(t.detections)",
                          String(format: "%.0f", t.seconds), t.cells.joined(separator: "; ")])
        }
        let widths = (0..<header.count).map { c in table.map { $0[c].count }.max()! }
        for row in table {
            print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                    .trimmingCharacters(in: .whitespaces))
        }
        let bad = totals.filter { $0.detections > 0 }
        print("freed during open walks: frees made while a walk window was open on some walker CPU, the moments a broken strategy would fail")
        if !bad.isEmpty { throw RunFailure(message: "validate --stress: use-after-free in \(bad.map(\.strategy).joined(separator: ", "))") }
    }

    func runForced() throws {
        let (cases, runs, base) = try forcedPlan()
        if list {
            for c in cases { print("\(c.name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(c.expected.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)) \(c.summary)") }
            return
        }
        let header = ["case", "strategy", "expected", "verdict", "", "runs as expected", "witness / evidence", "model (make verify)"]
        var table = [header]
        let modelRows = ProtocolModels.load()
        var failures = 0
        let progress = Progress(total: cases.count * runs)
        for (i, c) in cases.enumerated() {
            var good = 0
            var last: ForcedSchedule.Outcome?
            var firstBad: ForcedSchedule.Outcome?
            for r in 0..<runs {
                progress.step(i * runs + r + 1, c.name)
                var settings = base
                settings.seed = base.seed &+ UInt64(r)
                let o: ForcedSchedule.Outcome
                do { o = try ForcedSchedule.run(c, settings: settings) } catch {
                    failures += 1
                    table.append([c.name, c.strategy, c.expected.rawValue, "ERROR", "MISMATCH", "", "\(error)", ""])
                    last = nil
                    break
                }
                if o.matches { good += 1 } else if firstBad == nil { firstBad = o }
                last = o
            }
            guard let last else { continue }
            let shown = firstBad ?? last
            if good < runs { failures += 1 }
            let evidence = shown.freedAt != nil && shown.walkerRetried && !shown.useAfterFree
                ? "page freed under the walker; its try-get or re-check failed and it retried"
                : shown.freedAt != nil ? (shown.useAfterFree ? "freed under the walker; the oracle caught it" : "freed under the walker; the oracle MISSED it")
                : shown.heldBack.map { "\($0.point.rawValue): \($0.witness)" }.joined(separator: "; ")
            table.append([c.name, c.strategy, c.expected.rawValue, shown.verdict, good == runs ? "ok" : "MISMATCH", "\(good)/\(runs)", evidence,
                          ProtocolModels.column(runs: ProtocolModels.runs(forcedCase: c), rows: modelRows)])
            // Every detection, and every miss, says how to replay it.
            if shown.useAfterFree || !shown.matches {
                warn("bench: \(c.name): \(shown.schedule.joined(separator: "; ")); replay: \(shown.reproducer)")
            }
        }
        progress.finish()
        let widths = (0..<header.count).map { c in table.map { $0[c].count }.max()! }
        for row in table {
            print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                    .trimmingCharacters(in: .whitespaces))
        }
        for n in ForcedSchedule.notForceable { print("not forceable: \(n.name): \(n.why)") }
        print("\(cases.count - failures) of \(cases.count) cases as expected in every one of \(runs) run\(runs == 1 ? "" : "s")")
        if failures > 0 { throw RunFailure(message: "validate --forced: \(failures) case(s) differ from the expected verdict") }
    }

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
        if stress { return try runStress() }
        if forced { return try runForced() }
        let (cells, settings) = try plan()
        let environment = RunEnvironment.capture()
        let runner = Runner(timeBase: TimeBase.calibrate(invariantTSC: environment.invariantTSC))
        if environment.build == "debug" { warn("bench: this is a debug build; verdicts hold, timings do not.") }
        let header = ["scenario", "strategy", "walker", "expected", "verdict", "", "evidence", "model (make verify)"]
        var table = [header]
        var mismatches = 0, undecided = 0
        let modelRows = ProtocolModels.load()
        let progress = Progress(total: cells.count)
        for (i, cell) in cells.enumerated() {
            progress.step(i + 1, "\(cell.scenario) \(cell.strategy) \(cell.walker)")
            let outcome: Validation.Outcome
            do { outcome = try Validation.run(cell, runner: runner, settings: settings) } catch {
                mismatches += 1
                table.append([cell.scenario, cell.strategy, cell.walker, cell.expected.rawValue, "ERROR", "MISMATCH", "\(error)", ""])
                continue
            }
            if outcome.contradicts { mismatches += 1 }
            if outcome.observation.useAfterFree > 0 || outcome.contradicts {
                warn("bench: \(cell.scenario) \(cell.strategy) \(cell.walker): \(outcome.verdict); rerun: bench validate --scenarios \(cell.scenario) --strategies \(cell.strategy)"
                     + " (threads race freely: a rerun, not a replay; bench validate --forced replays exactly)")
            }
            if outcome.lacksPressure { undecided += 1 }
            let o = outcome.observation
            var evidence = "\(o.trials) \(o.unit)"
            if let freed = o.tablesFreed { evidence += ", \(freed) tables freed" }
            table.append([cell.scenario, cell.strategy, cell.walker, cell.expected.rawValue, outcome.verdict,
                          outcome.matches ? "ok" : outcome.lacksPressure ? "UNDECIDED" : "MISMATCH", evidence,
                          ProtocolModels.column(runs: ProtocolModels.runs(scenario: cell.scenario, strategy: cell.strategy, walker: cell.walker),
                                                rows: modelRows)])
        }
        progress.finish()
        let widths = (0..<header.count).map { c in table.map { $0[c].count }.max()! }
        for row in table {
            print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                    .trimmingCharacters(in: .whitespaces))
        }
        print("\(cells.count - mismatches - undecided) of \(cells.count) cells as expected"
              + (undecided > 0 ? "; \(undecided) without pressure (no table freed within \(Int(settings.pressureSeconds)) s): undecided, not mismatches" : ""))
        print("randomized threads show a use-after-free or not; only forced schedules prove one absent (bench validate --forced)")
        if mismatches > 0 { throw RunFailure(message: "validate: \(mismatches) verdict(s) differ from the expected ones") }
        if undecided > 0 { throw RunFailure(message: "validate: \(undecided) cell(s) undecided for want of pressure", status: ExitStatus.nothingComparable) }
    }
}
