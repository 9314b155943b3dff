import ArgumentParser
import Foundation
import WalkBench

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run a baseline's cells again (or take --candidate) and fail on a regression.",
        discussion: """
        Exit status: 0 no regression; 1 a gated metric got slower/worse (each listed) or a strategy that \
        promises safety showed a use-after-free; 2 bad input; 3 nothing comparable (no matching cells, another \
        machine fingerprint, or every gated cell unstable or short of samples); with --bisect, 125 instead of 3, \
        so `git bisect run bench check ...` skips commits it cannot judge. Gated metrics by default: \
        \(Metric.defaultGate.map(\.name).joined(separator: ", ")) (where present). --callgrind gates on \
        callgrind's exact counts only: zero noise, any machine.
        """)

    @Option(help: "The baseline to check against (bench baseline list).")
    var baseline: String
    @Option(help: "Compare this CSV instead of running the baseline's cells.")
    var candidate: [String] = []
    @Flag(help: "Gate on callgrind's exact counts only (cg_ columns): runs each cell's walks under valgrind, or reads them from --candidate.")
    var callgrind = false
    @Flag(help: "Exit 125 instead of 3 when nothing can be judged (for git bisect run).")
    var bisect = false
    @Option(name: .customLong("gate"), help: "Metrics that gate, comma-separated (default: \(Metric.defaultGate.map(\.name).joined(separator: ","))).")
    var gate: String?
    @Option(name: .customLong("extra-work"), parsing: .unconditional, help: "Run the candidate with this much extra work per walk (calibration: what slowdown the gate catches).")
    var extraWork: String?
    @Option(parsing: .unconditional, help: "Processes for the candidate run (default: as many as the baseline had).")
    var processes: String?
    @Flag(name: .customLong("require-quiet"), help: "Refuse to run (exit 2) if the preflight finds the machine busy.")
    var requireQuiet = false
    @OptionGroup var comparison: ComparisonOptions

    func validate() throws {
        if let p = Baselines.problem(name: baseline) { throw ValidationError(p) }
        _ = try comparison.options()
        _ = try comparison.outputFormat()
        _ = try ComparisonOptions.metricList(gate, option: "gate")
        if let extraWork, UInt64(extraWork).map({ $0 > RunLimits.extraWorkMax }) ?? true {
            throw ValidationError("--extra-work: \"\(extraWork)\" is not allowed; use a whole number from 0 to \(RunLimits.extraWorkMax)")
        }
        if let processes, Int(processes).map({ !(1...RunLimits.processesMax).contains($0) }) ?? true {
            throw ValidationError("--processes: \"\(processes)\" is not allowed; use a whole number from 1 to \(RunLimits.processesMax)")
        }
        if !candidate.isEmpty && (extraWork != nil || processes != nil) {
            throw ValidationError("--extra-work and --processes shape the candidate run; with --candidate nothing runs")
        }
    }

    func run() throws {
        var options = try comparison.options()
        let format = try comparison.outputFormat()
        // --metrics alone picks what gates as well as what is shown; --gate narrows the gate.
        var gateMetrics = try ComparisonOptions.metricList(gate, option: "gate")
            ?? ComparisonOptions.metricList(comparison.metrics, option: "metrics") ?? Metric.defaultGate
        if callgrind {
            gateMetrics = Metric.callgrind
            if comparison.metrics == nil { options.metrics = Metric.callgrind }
        } else if comparison.metrics == nil {
            options.metrics = Metric.all
        }
        let environment = RunEnvironment.capture()

        var candidateRows: [ResultRow] = []
        var candidateName = candidate.joined(separator: ", ")
        if !candidate.isEmpty {
            do { for p in candidate { candidateRows += try ResultTable.load(p) } } catch { throw UsageError(message: "\(error)") }
        }
        let fingerprint = candidateRows.first.map(Fingerprint.init) ?? Fingerprint(environment)
        let loaded: (rows: [ResultRow]?, available: [String])
        do { loaded = try Baselines().load(name: baseline, fingerprint: fingerprint, anyFingerprint: options.allowEnvironmentMismatch) } catch {
            throw UsageError(message: "\(error)")
        }
        guard let baseRows = loaded.rows else {
            warn("bench check: baseline \(baseline) has no file for this machine (\(fingerprint.id)); it has: \(loaded.available.joined(separator: ", ")). Save one here, or pass --allow-env-mismatch to use the only one.")
            throw ExitCode(bisect ? CheckOutcome.bisectSkip : CheckOutcome.nothingComparable)
        }

        if candidate.isEmpty {
            let plan = try planFromBaseline(baseRows)
            let dir = "results/runs"
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let path = "\(dir)/\(RunInfo(environment: environment, timeBase: .fallback).defaultFileName)"
            warn("bench check: running the \(plan.scenarios.count) cells of baseline \(baseline), \(plan.processes) process\(plan.processes == 1 ? "" : "es")" + (callgrind ? ", under callgrind" : ""))
            let outcome = try Execution.measure(plan, environment: environment, path: path, force: false,
                                                requireQuiet: requireQuiet, summary: false, defaultPath: true)
            candidateRows = outcome.rows
            candidateName = outcome.path ?? path
            for f in outcome.failures { warn("bench check: \(f)") }
            if outcome.stoppedBy != 0 { throw ExitCode(ExitStatus.stopped(by: outcome.stoppedBy)) }
        }

        let c = Comparison(a: baseRows, b: candidateRows, options: options, gate: gateMetrics)
        var ctx = ComparisonReport.Context(nameA: "baseline \(baseline)", nameB: candidateName)
        ctx.colour = format == .text && isatty(1) == 1
        ctx.all = comparison.all
        print(ComparisonReport.render(c, format: format, context: ctx), terminator: "")
        let outcome = CheckOutcome(c, bisect: bisect)
        warn("bench check: \(outcome.reason) (exit \(outcome.status))")
        if outcome.status != 0 { throw ExitCode(outcome.status) }
    }

    /// The baseline's cells as a plan: each cell's parameters from its rows, the timing it ran with.
    func planFromBaseline(_ rows: [ResultRow]) throws -> RunCommand.Plan {
        var scenarios: [Scenario] = []
        var processCount = 1
        var hugePages = true
        for cell in groupCells(rows) {
            let r = cell.rows[0]
            func v(_ c: String) -> String { r[c] ?? "" }
            guard let preset = Workloads.named(v("workload")) else {
                throw UsageError(message: "baseline cell \(cell.key.label) uses workload \"\(v("workload"))\", which is not built in: run the candidate yourself with its --workload-file and pass --candidate")
            }
            guard v("foreign_walkers") != "yes", v("lazy_walkers") != "yes" else {
                throw UsageError(message: "baseline cell \(cell.key.label) is a validation scenario; bench check reruns bench run cells only")
            }
            var w = preset
            w.mappedBytes = UInt64(v("mapped_bytes")) ?? w.mappedBytes
            w.density = Double(v("density")) ?? w.density
            w.hugeFraction = Double(v("huge_fraction")) ?? w.hugeFraction
            w.pteFolioOrder = Int(v("pte_folio_order")) ?? 0
            w.writerDelayNanoseconds = UInt64(v("writer_delay_ns")) ?? w.writerDelayNanoseconds
            w.readerIdleNanoseconds = UInt64(v("reader_idle_ns")) ?? w.readerIdleNanoseconds
            guard let g = Geometry.named(v("geometry")), let readers = Int(v("readers")), let writers = Int(v("writers")) else {
                throw UsageError(message: "baseline cell \(cell.key.label): unknown geometry or thread counts")
            }
            // The requested duration is the measured one to the millisecond.
            let durations = cell.rows.compactMap { $0["duration_s"].flatMap(Double.init) }
            let duration = ((RankStatistics.median(durations) ?? 0.15) * 100).rounded() / 100
            var s = Scenario(geometry: g, workload: w, strategy: v("strategy"), walker: v("walker"), readers: readers, writers: writers,
                             oracle: v("oracle") != "off",
                             walkOptions: WalkOptions(span: UInt64(v("span_bytes")) ?? (2 << 20), takeReference: v("take_ref") != "off",
                                                      extraWork: UInt64(extraWork ?? "0") ?? 0, pin: v("take_ref") == "pin"),
                             timing: Timing(duration: callgrind ? 0.02 : max(duration, 0.01), warmup: callgrind ? 0 : Double(v("warmup_s")) ?? 0.04,
                                            repetitions: callgrind ? 1 : cell.rows.compactMap { $0["repetition"].flatMap(Int.init) }.max() ?? 1,
                                            batch: Int(v("batch")) ?? 256),
                             seed: UInt64(v("seed")) ?? 0x5EED)
            s.dispatch = v("dispatch")
            s.protectionOptions.batchFailRate = Double(v("batch_fail_rate")) ?? 0
            s.protectionOptions.lazyTLB = LazyTLB(rawValue: v("lazy_tlb")) ?? .off
            s.protectionOptions.ptReclaim = v("pt_reclaim") == "on"
            if let ms = Double(v("cpumask_trim_ms")) { s.protectionOptions.cpumaskTrimNanoseconds = UInt64(ms * 1e6) }
            s.windowDelayNanoseconds = UInt64(v("window_delay_ns")) ?? 0
            // Through the spec once: it checks every name against this build's registries.
            do { scenarios.append(try ScenarioSpec(s).scenario()) } catch { throw UsageError(message: "baseline cell \(cell.key.label): \(error)") }
            processCount = max(processCount, cell.rows.compactMap { $0["processes"].flatMap(Int.init) }.max() ?? 1)
            hugePages = v("arena_hugepages") != "off"
        }
        if let processes { processCount = Int(processes)! }
        if callgrind { processCount = 1 }
        var cgSetup: RunCommand.CallgrindSetup?
        if callgrind {
            guard let valgrind = Callgrind.findValgrind() else {
                throw UsageError(message: "--callgrind needs valgrind, which is not on PATH; install it (Debian: apt-get install valgrind)")
            }
            guard let exe = Callgrind.ownExecutable() else { throw UsageError(message: "--callgrind: cannot find this executable") }
            cgSetup = RunCommand.CallgrindSetup(valgrind: valgrind, executable: exe, walks: Int(rows.first?.extra("cg_walks") ?? "") ?? Callgrind.defaultWalks)
        }
        return RunCommand.Plan(scenarios: scenarios, timing: scenarios.first?.timing ?? Timing(), reference: nil, counters: .none,
                               callgrind: cgSetup, notes: [], processes: processCount,
                               unstableThreshold: (try comparison.options()).unstableThreshold, arenaHugePages: hugePages,
                               counterNames: [])
    }
}
