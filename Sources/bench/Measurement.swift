import Foundation
import WalkBench

/// The default suite's shape: enough processes that a comparison has samples to test, short enough
/// that `make bench` stays near a minute on two CPUs (README, "Tracking regressions", has the numbers).
enum RunDefaults {
    static let processes = 10
    static let repetitions = 1
    static let duration = 0.08
    static let warmup = 0.015
}

/// One measurement from plan to file: preflight, the processes, the stability columns, the CSV (written
/// atomically; printed on stdout if it cannot be written) and, for `bench run`, the summary.
enum Execution {
    /// `defaultPath`: the path was chosen by bench, not named by the user, so another run that chose
    /// the same one makes this run take the next free name instead of failing.
    static func measure(_ plan: RunCommand.Plan, environment: RunEnvironment, path: String, force: Bool,
                        requireQuiet: Bool, summary: Bool, defaultPath: Bool = false, gbenchJSON: Bool = false) throws -> Outcome {
        let preflight = Preflight.run()
        if requireQuiet && preflight.isBusy {
            throw UsageError(message: "--require-quiet: the machine is busy: \(preflight.verdict)")
        }
        for w in preflight.warnings { warn("bench: preflight: \(w)") }
        if preflight.warnings.isEmpty {
            warn("bench: preflight: quiet" + (preflight.load.map { String(format: " (other processes %.0f%%, steal %.0f%%)", $0.otherCPUPercent, $0.stealPercent) } ?? ""))
        }
        TablePool.hugePages.store(plan.arenaHugePages, ordering: .relaxed)
        let timeBase = TimeBase.calibrate(invariantTSC: environment.invariantTSC)
        var info = RunInfo(environment: environment, timeBase: timeBase)
        info.preflight = preflight
        info.processes = plan.processes

        if environment.build == "debug" {
            warn("bench: this is a debug build; its rows say build=debug and their timings mean little. Use `swift run -c release bench`.")
        }
        warn("bench: timer \(timeBase.source.rawValue)" + (timeBase.source == .tsc ? String(format: " at %.3f GHz", timeBase.ticksPerNanosecond) : "")
             + String(format: ", overhead %.1f ns per read pair, step %.1f ns", timeBase.overheadNanoseconds, timeBase.resolutionNanoseconds)
             + (timeBase.note.map { " (\($0))" } ?? ""))
        let estimate = Double(plan.scenarios.count * plan.timing.repetitions * plan.processes) * (plan.timing.duration + plan.timing.warmup)
        warn("bench: \(plan.scenarios.count) scenarios × \(plan.timing.repetitions) repetitions × \(plan.processes) process\(plan.processes == 1 ? "" : "es"), about \(Int(estimate.rounded(.up))) s of measurement")
        for note in plan.notes { warn("bench: \(note)") }
        for note in plan.counters.notes { warn("bench: counter unavailable, its columns stay empty: \(note)") }

        // From here on SIGINT and SIGTERM stop the run between cells; what is finished is written.
        StopSignals.install()
        var measured: Measured
        if plan.processes == 1 {
            measured = try Measurement.inProcess(plan.scenarios, info: info, counters: plan.counters, callgrind: plan.callgrind,
                                                 progress: Progress(total: plan.scenarios.count * plan.timing.repetitions))
        } else {
            measured = try Measurement.inChildren(plan, info: info)
        }
        var rows = measured.rows
        annotateStability(&rows, threshold: plan.unstableThreshold)

        var out = Outcome(failures: measured.failures, stoppedBy: measured.stoppedBy)
        // A strategy that promises safety and showed a use-after-free fails the run.
        let safe = Set(Strategies.all.filter(\.guaranteesSafety).map(\.name))
        for r in rows where safe.contains(r["strategy"]!) {
            if let u = r["uaf_detected"].flatMap(UInt64.init), u > 0 {
                // Threads race freely here, so the cell can be rerun, not replayed step by step; the
                // forced schedules (bench validate --forced) replay exactly.
                let rerun = "bench run --processes 1 --strategies \(r["strategy"]!) --workloads \(r["workload"]!) --walkers \(r["walker"]!)"
                    + (r["dispatch"] == Dispatch.none ? "" : " --dispatch \(r["dispatch"]!)")
                    + " --geometry \(r["geometry"]!) --readers \(r["readers"]!) --writers \(r["writers"]!) --seed \(r["seed"]!)"
                out.safetyFailures.append("\(r["strategy"]!) claims safety but the oracle saw \(u) use-after-free walks (\(r["workload"]!), r\(r["readers"]!) w\(r["writers"]!), process \(r["process"] ?? "1"), repetition \(r["repetition"]!)); rerun: \(rerun)")
            }
        }
        if measured.stoppedBy != 0 {
            let finished = Set(rows.map(CellKey.init)).count
            out.stopNote = "complete=no: stopped by \(signalName(measured.stoppedBy)) with \(finished) of \(plan.scenarios.count) cells measured"
                + (plan.processes > 1 ? " (some in fewer than \(plan.processes) processes)" : "")
        }
        if !rows.isEmpty {
            let header = Columns.all + plan.counters.columns + (plan.callgrind == nil ? [] : Callgrind.columns)
            var text = CSV.line(header)
            for r in rows { text += CSV.line(r.fields(header)) }
            if summary {
                print(Summary.render(rows, reference: plan.reference, threshold: plan.unstableThreshold))
                if let note = Summary.mitigationNote(rows, spectreV2: environment.spectreV2) { print(note) }
                if let note = out.stopNote { print(note) }
            }
            if let note = Summary.stabilityNote(rows) {
                // bench check's stdout is the comparison alone (its --format may be csv or json).
                if summary { print(note) } else { warn("bench check: \(note)") }
            }
            do {
                let written: String
                if force {
                    try ResultFile.write(text, to: path, replace: true)
                    written = path
                } else {
                    written = try ResultFile.write(text, to: path, nextFreeName: defaultPath)
                }
                out.path = written
                if summary { print("results: \(written)") } else { warn("bench check: candidate rows in \(written)") }
                if gbenchJSON {
                    // Beside the CSV that was written (a default name may have become -2.csv).
                    let json = GBenchJSON.path(besideCSV: written)
                    do {
                        try ResultFile.write(GBenchJSON.render(rows, machine: .current()), to: json, replace: force)
                        print("gbench json: \(json)")
                    } catch {
                        warn("bench: could not write \(json): \(error); the CSV is complete")
                        out.resultsNotWritten = "gbench JSON not written to \(json): \(error)"
                        out.csvWritten = true
                    }
                }
            } catch {
                // Nothing lost: the rows go to stdout when their file cannot be written.
                warn("bench: could not write results to \(path): \(error); the CSV follows on stdout")
                print(text, terminator: "")
                out.resultsNotWritten = "results not written to \(path): \(error)"
            }
        }
        if let note = out.stopNote { warn("bench: \(note)") }
        out.rows = rows
        return out
    }

    /// What a measurement produced and what went wrong, most serious first.
    struct Outcome {
        var rows: [ResultRow] = []
        /// A strategy that promises safety showed a use-after-free.
        var safetyFailures: [String] = []
        /// Scenarios or processes that failed to measure.
        var failures: [String] = []
        var resultsNotWritten: String?
        /// The CSV is written and only the JSON beside it is missing.
        var csvWritten = false
        /// Where the rows went (nil: not written).
        var path: String?
        /// SIGINT or SIGTERM stopped the run (0: it ran to the end).
        var stoppedBy: Int32 = 0
        var stopNote: String?

        /// The exit this outcome calls for, nil for success: each status means one thing (`ExitStatus`).
        var failure: RunFailure? {
            for f in safetyFailures + failures { warn("bench: FAIL \(f)") }
            if !safetyFailures.isEmpty {
                return RunFailure(message: "\(safetyFailures.count) use-after-free failure(s) in strategies that promise safety", status: ExitStatus.failed)
            }
            if let resultsNotWritten { return RunFailure(message: resultsNotWritten + (csvWritten ? "" : "; the CSV went to stdout"), status: ExitStatus.resultsNotWritten) }
            if !failures.isEmpty { return RunFailure(message: "\(failures.count) measurement failure(s)", status: ExitStatus.measurementFailed) }
            if stoppedBy != 0 { return RunFailure(message: "stopped by \(signalName(stoppedBy))", status: ExitStatus.stopped(by: stoppedBy)) }
            return nil
        }
    }
}

func signalName(_ signal: Int32) -> String {
    switch signal {
    case SIGINT: return "SIGINT"
    case SIGTERM: return "SIGTERM"
    default: return "signal \(signal)"
    }
}

struct Measured {
    var rows: [ResultRow] = []
    var failures: [String] = []
    /// The signal that stopped the measurement early, or 0.
    var stoppedBy: Int32 = 0
}

enum Measurement {
    /// Measures `scenarios` in this process, in order. Every repetition of one comes before the next,
    /// unless `interleaved`: then the list is measured once per repetition (A B C A B C …), each pass
    /// on a fresh address space, so a burst of host noise lasting under a second lands on one
    /// repetition of a cell, not on all of them, and the process's median shrugs it off.
    static func inProcess(_ scenarios: [Scenario], info: RunInfo, counters: CounterPlan,
                          callgrind: RunCommand.CallgrindSetup?, progress: Progress, interleaved: Bool = false) throws -> Measured {
        var callgrindSession: Callgrind.Session?
        if let cg = callgrind {
            warn("bench: --callgrind: \(cg.walks) walks per scenario under \(cg.valgrind) (one walker, no writers; valgrind is slow)")
            do { callgrindSession = try Callgrind.Session(valgrind: cg.valgrind, executable: cg.executable) } catch {
                throw RunFailure(message: "--callgrind: \(error)", status: ExitStatus.measurementFailed)
            }
            if let note = callgrindSession?.note { warn("bench: --callgrind: \(note)") }
        }
        let runner = Runner(timeBase: info.timeBase, counters: counters)
        var out = Measured()
        var callgrindDone: [Callgrind.ChildRequest: Result<Callgrind.Counts, Error>] = [:]
        var pinningNoted = false
        var step = 0
        let rounds = interleaved ? scenarios.map(\.timing.repetitions).max() ?? 1 : 1
        var rowsOf = scenarios.map { _ in [ResultRow]() }
        var failed = Set<Int>()
        measuring: for round in 1...rounds {
            for (index, scenario) in scenarios.enumerated() where !failed.contains(index) {
                if StopSignals.received != 0 {
                    out.stoppedBy = StopSignals.received
                    break measuring
                }
                let reps = scenario.timing.repetitions
                let numbers = interleaved ? (round <= reps ? round...round : nil) : 1...reps
                guard let numbers else { continue }
                let measurements: [RepetitionResult]
                do {
                    let base = step
                    measurements = try runner.run(scenario, repetitions: numbers) { rep in
                        progress.step(base + rep - numbers.lowerBound + 1, "\(scenario.label) rep \(rep)/\(reps)")
                    }
                } catch {
                    out.failures.append("\(scenario.label): \(error)")
                    failed.insert(index)
                    step += numbers.count
                    continue
                }
                step += numbers.count
                // The callgrind counts are one deterministic measurement per scenario, not per repetition: a
                // repetition would only repeat them, and valgrind is slow. So the scenario's one count fills
                // the cg_ columns of each of its repetition rows, and scenarios that differ only in thread
                // counts (the counted run has one walker, no writers) share one valgrind run.
                var cgFields: [String]?
                if let cg = callgrind, let session = callgrindSession {
                    let request = Callgrind.ChildRequest(scenario, walks: cg.walks)
                    if callgrindDone[request] == nil {
                        progress.step(step, "\(scenario.label) under callgrind")
                        callgrindDone[request] = Result { try session.measure(request) }
                    }
                    switch callgrindDone[request]! {
                    case .success(let counts): cgFields = counts.fields
                    case .failure(let error): out.failures.append("\(scenario.label): callgrind: \(error)")
                    }
                }
                for m in measurements {
                    if !pinningNoted, m.pinning.hasPrefix("unpinned") { warn("bench: \(m.pinning)"); pinningNoted = true }
                    var row = ResultRow.make(run: info, scenario: scenario, measurement: m)
                    row.setCounters(counters, m)
                    if let cgFields { for (c, v) in zip(Callgrind.columns, cgFields) { row.setExtra(c, v) } }
                    rowsOf[index].append(row)
                }
            }
        }
        // A signal that came during the last cell still says the run was asked to stop.
        if StopSignals.received != 0 { out.stoppedBy = StopSignals.received }
        // Rows by scenario, then repetition, whatever the order they were measured in.
        out.rows = rowsOf.flatMap { $0 }
        progress.finish()
        return out
    }

    /// One side of a measurement in child processes: which executable runs, with which extra work.
    struct Side {
        var executable: String
        var extraWork: UInt64?
        var label: String
    }

    /// Measures the plan in `plan.processes` processes of this executable, one after another, each
    /// running every cell (from another starting point); the rows come back in the plan's order,
    /// stamped with this run's id and the parent's preflight.
    static func inChildren(_ plan: RunCommand.Plan, info: RunInfo) throws -> Measured {
        guard let exe = Callgrind.ownExecutable() else { throw RunFailure(message: "--processes: cannot find this executable (/proc/self/exe)", status: ExitStatus.measurementFailed) }
        return try alternating(plan, info: info, sides: [Side(executable: exe, extraWork: nil, label: "")])[0]
    }

    /// Measures the plan on each side in turn, process k of every side before process k + 1 of any
    /// (and the sides' order reversed every other round), so the host's drift, which changes over
    /// seconds, lands on the sides alike. One result per side.
    static func alternating(_ plan: RunCommand.Plan, info: RunInfo, sides: [Side]) throws -> [Measured] {
        let dir = NSTemporaryDirectory() + "walkbench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw RunFailure(message: "--processes: cannot create \(dir): \(error.localizedDescription)", status: ExitStatus.measurementFailed)
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var planPaths: [String] = []
        for (n, side) in sides.enumerated() {
            var scenarios = plan.scenarios.map(ScenarioSpec.init)
            if let w = side.extraWork { for i in scenarios.indices { scenarios[i].extraWork = w } }
            let spec = RunSpec(scenarios: scenarios, counters: plan.counterNames,
                               callgrindWalks: plan.callgrind?.walks, arenaHugePages: plan.arenaHugePages)
            let path = dir + "/plan-\(n).json"
            do { try JSONEncoder().encode(spec).write(to: URL(fileURLWithPath: path)) } catch {
                throw RunFailure(message: "--processes: cannot write \(path): \(error)", status: ExitStatus.measurementFailed)
            }
            planPaths.append(path)
        }
        var out = sides.map { _ in Measured() }
        var byCell = sides.map { _ in [CellKey: [ResultRow]]() }
        processes: for k in 1...plan.processes {
            let order = k % 2 == 1 ? Array(sides.indices) : Array(sides.indices.reversed())
            for n in order {
                if StopSignals.received != 0 { break processes }
                let side = sides[n]
                let csvPath = dir + "/side-\(n)-process-\(k).csv"
                let p = Process()
                p.executableURL = URL(fileURLWithPath: side.executable)
                p.arguments = ["run", "--plan-file", planPaths[n], "--process-of", "\(k)/\(plan.processes)", "--output", csvPath]
                p.standardOutput = FileHandle.nullDevice
                do { try p.run() } catch { throw RunFailure(message: "cannot start \(side.executable): \(error)", status: ExitStatus.measurementFailed) }
                // A stop signal to this process reaches the child too (a terminal's Ctrl-C reaches both
                // already; a SIGTERM sent to this process alone does not): it finishes its cell and writes.
                var forwarded = false
                while p.isRunning {
                    if !forwarded, StopSignals.received != 0 {
                        kill(p.processIdentifier, StopSignals.received)
                        forwarded = true
                    }
                    usleep(5_000)
                }
                let stopped = StopSignals.received != 0 && p.terminationStatus == ExitStatus.stopped(by: StopSignals.received)
                if p.terminationStatus != 0 && !stopped {
                    out[n].failures.append("\(side.label)process \(k) of \(plan.processes) exited with status \(p.terminationStatus)")
                }
                guard let text = try? String(contentsOfFile: csvPath, encoding: .utf8) else { continue }
                let table = CSV.parse(text)
                guard let header = table.first else { continue }
                let slots = Columns.slots(of: header)
                for fields in table.dropFirst() where fields.count == header.count {
                    var row = ResultRow(slotsOf: slots, header: header, fields: fields)
                    row["run_id"] = info.id + (side.label.isEmpty ? "" : "-" + side.label.trimmingCharacters(in: .whitespaces))
                    row["timestamp_utc"] = info.timestamp
                    if let pf = info.preflight {
                        row["preflight"] = pf.verdict
                        row["preflight_other_cpu_pct"] = ResultRow.number(pf.load?.otherCPUPercent, digits: 1)
                        row["preflight_steal_pct"] = ResultRow.number(pf.load?.stealPercent, digits: 1)
                        row["loadavg_1m"] = ResultRow.number(pf.loadAverage, digits: 2)
                    }
                    byCell[n][CellKey(row), default: []].append(row)
                }
            }
        }
        if StopSignals.received != 0 { for n in sides.indices { out[n].stoppedBy = StopSignals.received } }
        // The plan's order: each cell's rows together, by process, then repetition.
        let keys = plan.scenarios.map { CellKey(ResultRow.make(run: info, scenario: $0, measurement: RepetitionResult(repetition: 1))) }
        for n in sides.indices {
            for key in keys { if let rows = byCell[n].removeValue(forKey: key) { out[n].rows += rows } }
            for rows in byCell[n].values { out[n].rows += rows }
        }
        return out
    }
}

/// Progress on stderr: a bar on a terminal, one plain line per step otherwise.
final class Progress {
    let total: Int
    let prefix: String
    let tty = isatty(2) == 1
    init(total: Int, prefix: String = "") {
        self.total = total
        self.prefix = prefix
    }

    func step(_ n: Int, _ label: String) {
        if tty {
            let width = 30
            let filled = total > 0 ? width * (n - 1) / total : 0
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            FileHandle.standardError.write(Data("\r\u{1B}[K\(prefix)[\(bar)] \(n)/\(total) \(label)".utf8))
        } else {
            warn("\(prefix)[\(n)/\(total)] \(label)")
        }
    }

    func finish() { if tty { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }
}
