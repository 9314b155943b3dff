import ArgumentParser
import Foundation
import WalkBench

/// `bench ab`: two builds (or one build and a planted slowdown) measured in alternating processes,
/// then compared as `bench check` compares. A stored baseline was measured minutes or days ago, and on
/// a shared VM the host's state moves every cell by several percent over tens of seconds; alternating
/// A and B process by process puts that drift on both sides alike, so a smaller change can be told.
struct ABCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ab",
        abstract: "Measure A and B in alternating processes (A1 B1 B2 A2 A3 B3 ...) and compare them.",
        discussion: """
        A and B are bench executables (default: this one); both run the cells this command's run options \
        select, from the same plan, so B must be a build of this version or later. --b-extra-work plants \
        a known slowdown in B (calibration: what change the gate sees). Writes both sides' CSVs \
        (results/runs/<id>-A.csv and -B.csv), prints the comparison, and exits as bench check does: 0 no \
        regression, 1 a gated metric slower or worse in B (or a use-after-free in a safe strategy), 2 bad \
        input, 3 nothing comparable (125 with --bisect).
        """)

    @Option(name: .customLong("a-binary"), help: "The base build's bench executable (default: this one).")
    var aBinary: String?
    @Option(name: .customLong("b-binary"), help: "The candidate build's bench executable (default: this one).")
    var bBinary: String?
    @Option(name: .customLong("b-extra-work"), parsing: .unconditional, help: "Extra work per walk in B only (default: the run's --extra-work).")
    var bExtraWork: String?
    @OptionGroup var limits: VerdictLimits
    @Option(name: .customLong("gate"), help: "Metrics that gate, comma-separated (default: \(Metric.defaultGate.map(\.name).joined(separator: ","))).")
    var gate: String?
    @Option(help: "Output: text, md, csv or json (default text).")
    var format: String?
    @Flag(help: "Exit 125 instead of 3 when nothing can be judged (for git bisect run).")
    var bisect = false
    @OptionGroup var selection: RunSelection

    func executable(_ path: String?, _ option: String) throws -> String {
        guard let path else {
            guard let own = Callgrind.ownExecutable() else { throw ValidationError("cannot find this executable (/proc/self/exe)") }
            return own
        }
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ValidationError("--\(option): \"\(path)\" is not an executable file")
        }
        return path
    }

    func options() throws -> (Comparison.Options, [Metric], ComparisonReport.Format) {
        var o = Comparison.Options()
        try limits.apply(to: &o)
        if let reference = selection.reference { o.reference = reference }
        let gateMetrics = try ComparisonOptions.metricList(gate, option: "gate") ?? Metric.defaultGate
        guard let f = ComparisonReport.Format(rawValue: format ?? "text") else {
            throw ValidationError("--format: \"\(format ?? "")\" is not allowed; use text, md, csv or json")
        }
        return (o, gateMetrics, f)
    }

    func validate() throws {
        _ = try executable(aBinary, "a-binary")
        _ = try executable(bBinary, "b-binary")
        _ = try options()
        if let bExtraWork, UInt64(bExtraWork).map({ $0 > RunLimits.extraWorkMax }) ?? true {
            throw ValidationError("--b-extra-work: \"\(bExtraWork)\" is not allowed; use a whole number from 0 to \(RunLimits.extraWorkMax)")
        }
        if selection.output != nil { throw ValidationError("--output: bench ab writes two files (results/runs/<id>-A.csv and -B.csv)") }
        if selection.callgrind { throw ValidationError("--callgrind: callgrind's counts need no alternation; use bench check --callgrind") }
    }

    func run() throws {
        var plan = try selection.plan()
        if plan.processes < 2 { plan.processes = 2 }
        let (options, gateMetrics, format) = try options()
        var o = options
        o.unstableThreshold = plan.unstableThreshold
        let environment = RunEnvironment.capture()
        let dir = "results/runs"
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw UsageError(message: "cannot create \(dir): \(error.localizedDescription)")
        }
        let preflight = Preflight.run()
        if selection.requireQuiet && preflight.isBusy { throw UsageError(message: "--require-quiet: the machine is busy: \(preflight.verdict)") }
        for w in preflight.warnings { warn("bench ab: preflight: \(w)") }
        TablePool.hugePages.store(plan.arenaHugePages, ordering: .relaxed)
        var info = RunInfo(environment: environment, timeBase: TimeBase.calibrate(invariantTSC: environment.invariantTSC))
        info.preflight = preflight
        info.processes = plan.processes
        let sides = [Measurement.Side(executable: try executable(aBinary, "a-binary"), extraWork: nil, label: "A "),
                     Measurement.Side(executable: try executable(bBinary, "b-binary"), extraWork: bExtraWork.flatMap(UInt64.init), label: "B ")]
        warn("bench ab: \(plan.scenarios.count) cells × \(plan.processes) processes a side, alternating A and B")
        StopSignals.install()
        var measured = try Measurement.alternating(plan, info: info, sides: sides)
        var paths: [String] = []
        for (n, name) in ["A", "B"].enumerated() {
            annotateStability(&measured[n].rows, threshold: plan.unstableThreshold)
            let path = "\(dir)/\(info.defaultFileName.dropLast(4))-\(name).csv"
            do {
                try ResultFile.write(Baselines.csv(measured[n].rows), to: path, replace: false)
                warn("bench ab: \(name) rows in \(path)")
            } catch {
                warn("bench ab: could not write \(path): \(error); \(name)'s CSV follows on stdout")
                print(Baselines.csv(measured[n].rows), terminator: "")
            }
            paths.append(path)
            for f in measured[n].failures { warn("bench ab: \(name): \(f)") }
        }
        // Stopped: both sides' finished rows are written above; no verdict on a half-measured pair.
        if StopSignals.received != 0 {
            warn("bench ab: complete=no: stopped by \(signalName(StopSignals.received)); no comparison")
            throw ExitCode(ExitStatus.stopped(by: StopSignals.received))
        }
        let c = Comparison(a: measured[0].rows, b: measured[1].rows, options: o, gate: gateMetrics)
        var ctx = ComparisonReport.Context(nameA: "A \(sides[0].executable) (\(paths[0]))",
                                           nameB: "B \(sides[1].executable)" + (sides[1].extraWork.map { " --extra-work \($0)" } ?? "") + " (\(paths[1]))")
        ctx.colour = format == .text && isatty(1) == 1
        print(ComparisonReport.render(c, format: format, context: ctx), terminator: "")
        let outcome = CheckOutcome(c, bisect: bisect)
        warn("bench ab: \(outcome.reason) (exit \(outcome.status))")
        if outcome.status != 0 { throw ExitCode(outcome.status) }
    }
}
