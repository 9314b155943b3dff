import ArgumentParser
import Foundation
import WalkBench

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run scenarios (the default suite when no selection is given) and write a CSV.",
        discussion: """
            Exit status: 0 every cell measured and written; 1 a strategy that promises safety showed a \
            use-after-free (the CSV is written); 2 bad input (nothing measured or written); 4 the CSV \
            could not be written (it went to stdout); 5 a measurement failed (the rest is written); \
            130/143 stopped by SIGINT/SIGTERM (the finished cells are written).
            """)

    typealias Plan = RunSelection.Plan
    typealias CallgrindSetup = RunSelection.CallgrindSetup

    @OptionGroup var selection: RunSelection
    // Here, not in RunSelection: `bench ab` shares the selection and has a --format of its own.
    @Option(help: "csv, or gbench-json: the CSV and, beside it (.json for .csv), the same rows as Google Benchmark's JSON (default csv).")
    var format: String?

    func validate() throws {
        if try writesGBenchJSON(), let output = selection.output,
           let problem = ResultFile.problem(writing: GBenchJSON.path(besideCSV: output), replace: selection.force) {
            throw ValidationError("--format gbench-json: \(problem)")
        }
    }

    /// Whether --format asks for Google Benchmark's JSON beside the CSV.
    func writesGBenchJSON() throws -> Bool {
        guard let format, format != "csv" else { return false }
        guard format == ExportFormat.gbenchJSON.rawValue else {
            throw ValidationError("--format: \"\(format)\" is not allowed; use csv or gbench-json")
        }
        return true
    }

    func run() throws { try selection.execute(gbenchJSON: try writesGBenchJSON()) }
}

/// What `bench run` measures and where it writes: shared with `bench ab`, which measures the same
/// selection on two sides.
struct RunSelection: ParsableArguments {
    @Option(help: "Strategies, comma-separated (default: all but those marked [by name] in `bench list` (the powerpc family, invlpgb) and the validation-only ones).")
    var strategies: String?
    @Option(help: "Walkers, comma-separated (default: lookup).")
    var walkers: String?
    @Option(help: "Dispatch kinds for the callback walker, comma-separated (default: all; see `bench list`).")
    var dispatch: String?
    @Option(parsing: .unconditional, help: "Bytes each walk covers: range walkers walk all of it, lookup resolves its first page (default 2MiB; suffixes KiB, MiB, GiB).")
    var span: String?
    @Option(help: "Workloads, comma-separated: built-ins and those defined by --workload-file (default: all built-ins but thp-munmap; with --workload-file, every workload the files define).")
    var workloads: String?
    @Option(name: .customLong("workload-file"), help: "A JSON workload file (repeatable) whose workloads --workloads can name like the built-ins; see README.")
    var workloadFiles: [String] = []
    @Option(help: "Geometries, comma-separated (default: x86-64-4l).")
    var geometry: String?
    @Option(parsing: .unconditional, help: "Walker thread counts, comma-separated, 1...1024 (default: 1,2, leaving out cells with more threads than CPUs; a stderr line counts them).")
    var readers: String?
    @Option(parsing: .unconditional, help: "Writer thread counts, comma-separated, 0...64 (default: each workload's own).")
    var writers: String?
    @Option(parsing: .unconditional, help: "Seconds measured per repetition (default \(RunDefaults.duration)).")
    var duration: String?
    @Option(parsing: .unconditional, help: "Seconds of warm-up before each repetition (default \(RunDefaults.warmup)).")
    var warmup: String?
    @Option(parsing: .unconditional, help: "Repetitions per scenario in each process (default \(RunDefaults.repetitions)).")
    var repetitions: String?
    @Option(help: "CSV path (default: results/runs/<UTC-timestamp>-<host>.csv).")
    var output: String?
    @Flag(help: "Replace --output if it exists.")
    var force = false
    @Flag(name: .customLong("no-oracle"), help: "Skip the use-after-free oracle (pure-cost rows; uaf_detected left empty).")
    var noOracle = false
    @Flag(name: .customLong("no-take-ref"), help: "Lookups do not take a page reference and re-check (find_linux_pte-like).")
    var noTakeRef = false
    @Flag(name: .customLong("foll-pin"), help: "Lookups take their page references as FOLL_PIN (pin_user_pages_fast: a small folio gains 1024 references, a large one a reference and a _pincount) instead of FOLL_GET.")
    var follPin = false
    @Option(name: .customLong("batch-fail-rate"), parsing: .unconditional, help: "RCU strategies: probability that an mmu_table_batch allocation fails, forcing the sync-IPI fallback (0...1, default 0).")
    var batchFailRate: String?
    @Option(name: .customLong("lazy-tlb"), help: "Strategies that send TLB shootdowns (irq-disable): off, on, or off,on for both; on = x86's lazy TLB, idle CPUs skipped by flushes that free nothing (default off).")
    var lazyTLB: String?
    @Flag(name: .customLong("pt-reclaim"), help: "RCU strategies (rcu-*): CONFIG_PT_RECLAIM (x86-64, 6.14+): MADV_DONTNEED frees the PTE tables it empties, and a failed batch allocation frees each table through call_rcu instead of the sync IPI.")
    var ptReclaim = false
    @Option(name: .customLong("cpumask-trim-ms"), parsing: .unconditional, help: "Strategies that update mm_cpumask lazily (irq-disable-rcu), with --lazy-tlb on: least milliseconds between two flushes that trim the cpumask, as should_trim_cpumask (default 1000, the kernel's; 0.001...60000).")
    var cpumaskTrim: String?
    @Option(name: .customLong("window-delay-ns"), parsing: .unconditional, help: "Spin this long inside each walk before its last table read (validation; needs the oracle; default 0).")
    var windowDelay: String?
    @Option(help: "Counters, comma-separated: PAPI presets or native events (PAPI_TOT_INS, ...), perf::task-clock etc., sde:::walkbench::ipis_sent etc. (see README).")
    var counters: String?
    @Flag(name: .customLong("require-counters"), help: "Refuse to run (exit 2) if any requested counter cannot be counted here.")
    var requireCounters = false
    @Flag(help: "Also count each scenario's walks under valgrind's callgrind (one walker, no writers, a fixed number of walks, the same counts every run): adds cg_ir/bcm/bim/d1mr/llmr_per_walk and cg_walks.")
    var callgrind = false
    @Option(name: .customLong("callgrind-walks"), parsing: .unconditional, help: "Walks counted per scenario with --callgrind (default \(Callgrind.defaultWalks)).")
    var callgrindWalks: String?
    @Option(help: "Strategy the summary's ratios are relative to (default: none, else the first).")
    var reference: String?
    @Option(help: "Seed for every thread's generator.")
    var seed: UInt64 = 0x5EED

    @Option(parsing: .unconditional, help: "Measure every cell in this many separate processes, interleaved (process 1 runs every cell, then process 2, ...), so layout and drift differ between samples; rows carry a `process` column (1...\(RunLimits.processesMax), default \(RunDefaults.processes)).")
    var processes: String?
    @Flag(name: .customLong("require-quiet"), help: "Refuse to run (exit 2) if the preflight finds other processes busy or the hypervisor stealing time.")
    var requireQuiet = false
    @Option(name: .customLong("unstable-threshold"), parsing: .unconditional, help: "A cell whose spread (robust CoV over processes, in %) exceeds this is marked unstable (default \(ResultRow.number(Spread.defaultThreshold)!)).")
    var unstableThreshold: String?
    @Option(name: .customLong("extra-work"), parsing: .unconditional, help: "Add N dependent additions inside each walk's window: a known slowdown, the same in wall-clock and callgrind mode, for calibrating regression gates (default 0).")
    var extraWork: String?
    @Option(name: .customLong("arena-hugepages"), help: "Ask for transparent huge pages on the table arena (MADV_HUGEPAGE), as the kernel's direct map backs page tables: on or off (default on).")
    var arenaHugepages: String?
    @Option(name: .customLong("plan-file"), help: .hidden)
    var planFile: String?
    @Option(name: .customLong("process-of"), help: .hidden)
    var processOf: String?

    func validate() throws {
        if planFile != nil { _ = try childRole() } else { _ = try plan() }
    }

    func execute(gbenchJSON: Bool) throws {
        if let planFile {
            try runAsChild(planFile: planFile, role: try childRole())
            return
        }
        let plan = try plan()
        let environment = RunEnvironment.capture()
        let path: String
        if let output {
            path = output
        } else {
            let dir = "results/runs"
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw UsageError(message: "cannot create \(dir): \(error.localizedDescription)")
            }
            path = "\(dir)/\(RunInfo(environment: environment, timeBase: .fallback).defaultFileName)"
            if let problem = ResultFile.problem(writing: path, replace: false) { throw UsageError(message: problem) }
        }
        let outcome = try Execution.measure(plan, environment: environment, path: path, force: force,
                                            requireQuiet: requireQuiet, summary: true, defaultPath: output == nil,
                                            gbenchJSON: gbenchJSON)
        if let failure = outcome.failure { throw failure }
    }

    /// A measuring process of a --processes run: the parent's scenarios, this process's rows, no summary.
    func runAsChild(planFile: String, role: (index: Int, count: Int)) throws {
        guard let output else { throw UsageError(message: "--plan-file needs --output") }
        let spec: RunSpec
        do { spec = try JSONDecoder().decode(RunSpec.self, from: Data(contentsOf: URL(fileURLWithPath: planFile))) } catch {
            throw UsageError(message: "--plan-file \(planFile): \(error)")
        }
        var scenarios: [Scenario] = []
        do { scenarios = try spec.scenarios.map { try $0.scenario() } } catch { throw UsageError(message: "--plan-file \(planFile): \(error)") }
        // Each process starts at another place in the list, so no cell always runs first or last.
        let shift = scenarios.isEmpty ? 0 : (role.index - 1) * scenarios.count / role.count
        scenarios = Array(scenarios[shift...] + scenarios[..<shift])
        let counterPlan: CounterPlan
        do { counterPlan = spec.counters.isEmpty ? .none : try CounterPlan.parse(spec.counters) } catch { throw UsageError(message: "\(error)") }
        var callgrind: CallgrindSetup?
        // Callgrind's counts are the same in every process: the first one counts them.
        if let walks = spec.callgrindWalks, role.index == 1 {
            guard let valgrind = Callgrind.findValgrind(), let exe = Callgrind.ownExecutable() else {
                throw UsageError(message: "--callgrind: valgrind or this executable cannot be found")
            }
            callgrind = CallgrindSetup(valgrind: valgrind, executable: exe, walks: walks)
        }
        TablePool.hugePages.store(spec.arenaHugePages, ordering: .relaxed)
        let environment = RunEnvironment.capture()
        var info = RunInfo(environment: environment, timeBase: TimeBase.calibrate(invariantTSC: environment.invariantTSC))
        info.process = role.index
        info.processes = role.count
        StopSignals.install()
        let reps = scenarios.first?.timing.repetitions ?? 1
        let measured = try Measurement.inProcess(scenarios, info: info, counters: counterPlan, callgrind: callgrind,
                                                 progress: Progress(total: scenarios.count * reps, prefix: "process \(role.index)/\(role.count) "),
                                                 interleaved: true)
        let header = Columns.all + counterPlan.columns + (callgrind == nil ? [] : Callgrind.columns)
        var text = CSV.line(header)
        for r in measured.rows { text += CSV.line(r.fields(header)) }
        do { try ResultFile.write(text, to: output, replace: true) } catch { throw RunFailure(message: "\(error)", status: ExitStatus.resultsNotWritten) }
        if !measured.failures.isEmpty {
            for f in measured.failures { warn("bench: FAIL \(f)") }
            throw RunFailure(message: "\(measured.failures.count) failure(s)", status: ExitStatus.measurementFailed)
        }
        if measured.stoppedBy != 0 { throw RunFailure(message: "stopped by \(signalName(measured.stoppedBy))", status: ExitStatus.stopped(by: measured.stoppedBy)) }
    }

    func childRole() throws -> (index: Int, count: Int) {
        let parts = (processOf ?? "1/1").split(separator: "/").compactMap { Int($0) }
        guard parts.count == 2, parts[1] >= 1, (1...parts[1]).contains(parts[0]) else {
            throw ValidationError("--process-of: \"\(processOf ?? "")\" is not allowed; use K/N with 1 <= K <= N")
        }
        return (parts[0], parts[1])
    }

    struct Plan {
        var scenarios: [Scenario]
        var timing: Timing
        var reference: String?
        var counters: CounterPlan
        /// With --callgrind: what runs each scenario's counted walks.
        var callgrind: CallgrindSetup?
        /// Why some default cells were not planned, if any were not.
        /// Said on stderr before measuring: what the selection left out or cannot show.
        var notes: [String]
        var processes: Int
        var unstableThreshold: Double
        var arenaHugePages: Bool
        /// The counter names the plan was parsed from (handed to measuring processes).
        var counterNames: [String]
    }

    struct CallgrindSetup {
        var valgrind: String
        var executable: String
        var walks: Int
    }

    func plan() throws -> Plan {
        func list(_ s: String?, _ option: String) throws -> [String]? {
            guard let s else { return nil }
            let items = s.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard !items.contains(where: \.isEmpty) else { throw ValidationError("--\(option) \"\(s)\": empty name in the list") }
            // A duplicate would measure one cell twice under one label: refused, not merged.
            var seen = Set<String>()
            for item in items where !seen.insert(item).inserted {
                throw ValidationError("--\(option): \"\(item)\" is listed twice; name each value once")
            }
            return items
        }
        func names(_ s: String?, _ option: String, allowed: [String], default d: [String]) throws -> [String] {
            guard let items = try list(s, option) else { return d }
            for item in items where !allowed.contains(item) {
                throw ValidationError("--\(option): unknown value \"\(item)\"; allowed: \(allowed.joined(separator: ", "))")
            }
            return items
        }
        func counts(_ s: String?, _ option: String, _ range: ClosedRange<Int>) throws -> [Int]? {
            guard let items = try list(s, option) else { return nil }
            return try items.map {
                guard let n = Int($0), range.contains(n) else {
                    throw ValidationError("--\(option): \"\($0)\" is not allowed; use whole numbers from \(range.lowerBound) to \(range.upperBound)")
                }
                return n
            }
        }
        func seconds(_ s: String?, _ option: String, default d: Double, allowZero: Bool) throws -> Double {
            guard let s else { return d }
            guard let v = Double(s), v.isFinite, allowZero ? v >= 0 : v > 0, v <= 3600 else {
                throw ValidationError("--\(option): \"\(s)\" is not allowed; use a number of seconds \(allowZero ? "from 0" : "above 0") up to 3600")
            }
            return v
        }

        let strategyNames = try names(strategies, "strategies", allowed: Strategies.names, default: Strategies.defaultNames)
        let walkerNames = try names(walkers, "walkers", allowed: Walkers.names, default: [LookupWalker.name])
        let geometryNames = try names(geometry, "geometry", allowed: Geometry.presets.map(\.name), default: [Geometry.presets[0].name])
        // Workloads from files are first-class: --workloads selects among them and the built-ins alike.
        // Without --workloads, the files' workloads run (all of them), else the default built-ins.
        let fileWorkloads: [Workload]
        do { fileWorkloads = try WorkloadFile.loadAll(workloadFiles) } catch { throw ValidationError("\(error)") }
        let available = Workloads.builtIn + fileWorkloads
        let selected: [Workload] = try names(workloads, "workloads", allowed: available.map(\.name),
                                             default: fileWorkloads.isEmpty ? Workloads.defaultNames : fileWorkloads.map(\.name))
            .map { n in available.first { $0.name == n }! }
        let dispatchNames = try names(dispatch, "dispatch", allowed: Dispatch.names, default: Dispatch.names)
        if follPin && noTakeRef {
            throw ValidationError("--foll-pin and --no-take-ref contradict each other: a pin is a page reference; give one of them")
        }
        var walkOptions = WalkOptions(takeReference: !noTakeRef, pin: follPin)
        if let extraWork {
            guard let n = UInt64(extraWork), n <= RunLimits.extraWorkMax else {
                throw ValidationError("--extra-work: \"\(extraWork)\" is not allowed; use a whole number from 0 to \(RunLimits.extraWorkMax)")
            }
            walkOptions.extraWork = n
        }
        if let span {
            guard let bytes = WorkloadFile.size(.string(span)), bytes > 0, bytes <= 1 << 40 else {
                throw ValidationError("--span: \"\(span)\" is not allowed; use a size from 1 byte to 1TiB, e.g. 2MiB or 4096")
            }
            walkOptions.span = bytes
        }
        // A range walk needs a start address from which the whole span stays inside the mapping.
        if walkerNames.contains(where: { $0 != LookupWalker.name }) {
            for w in selected where walkOptions.span >= w.mappedBytes {
                throw ValidationError("--span: \(span ?? String(walkOptions.span)) leaves no start address in workload \(w.name)'s \(w.mappedBytes)-byte mapping; use a span below its mapped size")
            }
        }
        if dispatch != nil, !walkerNames.contains(where: { Walkers.dispatches(of: $0) != [Dispatch.none] }) {
            throw ValidationError("--dispatch applies only to walkers with hooks (\(Walkers.names.filter { Walkers.dispatches(of: $0) != [Dispatch.none] }.joined(separator: ", "))); none is selected")
        }
        let explicitReaders = try counts(readers, "readers", 1...1024)
        let readerCounts = explicitReaders ?? [1, 2]
        // Without --readers, no cell puts more threads than CPUs on the machine: an oversubscribed cell
        // measures the scheduler (a preempted walker holds every waiting freer for a tick).
        let cpus = CPUThread.allowedCPUs.count
        var skippedOversubscribed = 0
        var leftOutForPTELock = Set<String>()
        let writerCounts = try counts(writers, "writers", 0...64)
        var processCount = RunDefaults.processes
        if let processes {
            guard let n = Int(processes), (1...RunLimits.processesMax).contains(n) else {
                throw ValidationError("--processes: \"\(processes)\" is not allowed; use a whole number from 1 to \(RunLimits.processesMax)")
            }
            processCount = n
        }
        var threshold = Spread.defaultThreshold
        if let unstableThreshold {
            guard let t = Double(unstableThreshold), t > 0, t <= 1000 else {
                throw ValidationError("--unstable-threshold: \"\(unstableThreshold)\" is not allowed; use a percentage above 0, e.g. 5")
            }
            threshold = t
        }
        var hugePages = true
        if let arenaHugepages {
            guard ["on", "off"].contains(arenaHugepages) else {
                throw ValidationError("--arena-hugepages: \"\(arenaHugepages)\" is not allowed; use on or off")
            }
            hugePages = arenaHugepages == "on"
        }
        var timing = Timing(duration: RunDefaults.duration, warmup: RunDefaults.warmup, repetitions: RunDefaults.repetitions)
        timing.duration = try seconds(duration, "duration", default: timing.duration, allowZero: false)
        timing.warmup = try seconds(warmup, "warmup", default: timing.warmup, allowZero: true)
        if let repetitions {
            guard let n = Int(repetitions), (1...1000).contains(n) else {
                throw ValidationError("--repetitions: \"\(repetitions)\" is not allowed; use a whole number from 1 to 1000")
            }
            timing.repetitions = n
        }
        var protectionOptions = ProtectionOptions()
        // The strategies --batch-fail-rate and --pt-reclaim apply to.
        let batching = Strategies.all.filter(\.batchesTables).map(\.name)
        if let batchFailRate {
            guard let p = Double(batchFailRate), p >= 0, p <= 1 else {
                throw ValidationError("--batch-fail-rate: \"\(batchFailRate)\" is not allowed; use a probability from 0 to 1")
            }
            protectionOptions.batchFailRate = p
            if p > 0, !strategyNames.contains(where: batching.contains) {
                throw ValidationError("--batch-fail-rate applies only to the strategies that batch tables for RCU (\(batching.joined(separator: ", "))); none is selected")
            }
        }
        let lazyModes = try names(lazyTLB, "lazy-tlb", allowed: LazyTLB.commandLineValues.map(\.rawValue),
                                  default: [LazyTLB.off.rawValue]).map { LazyTLB(rawValue: $0)! }
        if ptReclaim {
            guard strategyNames.contains(where: batching.contains) else {
                throw ValidationError("--pt-reclaim applies only to the strategies that batch tables for RCU (\(batching.joined(separator: ", "))); none is selected")
            }
            protectionOptions.ptReclaim = true
        }
        if let cpumaskTrim {
            guard let ms = Double(cpumaskTrim), ms.isFinite, ms >= 0.001, ms <= 60_000 else {
                throw ValidationError("--cpumask-trim-ms: \"\(cpumaskTrim)\" is not allowed; use milliseconds from 0.001 to 60000")
            }
            let lazily = Strategies.all.filter { $0.cpumaskPolicy == .clearedLazily && $0.sendsTLBShootdowns }.map(\.name)
            guard strategyNames.contains(where: lazily.contains), lazyModes.contains(where: { $0 != .off }) else {
                throw ValidationError("--cpumask-trim-ms applies only to the strategies that update mm_cpumask lazily (\(lazily.joined(separator: ", "))) with --lazy-tlb on; not selected")
            }
            protectionOptions.cpumaskTrimNanoseconds = UInt64((ms * 1e6).rounded())
        }
        var windowDelayNanoseconds: UInt64 = 0
        if let windowDelay {
            guard let d = UInt64(windowDelay), d <= 1_000_000 else {
                throw ValidationError("--window-delay-ns: \"\(windowDelay)\" is not allowed; use a whole number from 0 to 1000000")
            }
            guard !noOracle || d == 0 else { throw ValidationError("--window-delay-ns needs the oracle; drop --no-oracle") }
            windowDelayNanoseconds = d
        }
        if let reference, !strategyNames.contains(reference) {
            throw ValidationError("--reference: \"\(reference)\" is not among the strategies run (\(strategyNames.joined(separator: ", ")))")
        }
        if let output, let problem = ResultFile.problem(writing: output, replace: force) {
            throw ValidationError(problem)
        }

        var scenarios: [Scenario] = []
        for g in geometryNames.map({ Geometry.named($0)! }) {
            for w in selected {
                if case .failure(let why) = Runner.vma(for: w, geometry: g) { throw ValidationError(why.description) }
                for walker in walkerNames {
                  let walkerDispatches = Walkers.dispatches(of: walker)
                  let dispatches = walkerDispatches == [Dispatch.none] ? walkerDispatches : walkerDispatches.filter { dispatchNames.contains($0) }
                  for d in dispatches {
                    for r in readerCounts {
                        for wr in writerCounts ?? [w.writers] {
                            if explicitReaders == nil && r > 1 && r + wr > cpus {
                                skippedOversubscribed += strategyNames.count
                                continue
                            }
                            guard r + wr <= CPUMask.maxCPUs - 1 else { throw ValidationError("--readers + --writers: at most \(CPUMask.maxCPUs - 1) threads") }
                            for s in strategyNames {
                                if let why = PTELockRule.refusal(walker: walker, strategy: s) {
                                    // Named by the user: refused. From the default list: left out, and said.
                                    if strategies != nil { throw ValidationError("\(why); drop one of them") }
                                    leftOutForPTELock.insert(s)
                                    continue
                                }
                                var scenario = Scenario(
                                    geometry: g, workload: w, strategy: s, walker: walker, readers: r, writers: wr,
                                    oracle: !noOracle, walkOptions: walkOptions, timing: timing, seed: seed)
                                scenario.dispatch = d
                                scenario.protectionOptions = protectionOptions
                                // Recorded as n/a, and run as 0, where the strategy has no batches to fail.
                                if !scenario.batchFailRateApplies {
                                    scenario.protectionOptions.batchFailRate = 0
                                    scenario.protectionOptions.ptReclaim = false
                                }
                                scenario.windowDelayNanoseconds = windowDelayNanoseconds
                                // One cell per lazy-TLB mode only where the strategy's flushes look at it.
                                for lazy in scenario.lazyTLBApplies ? lazyModes : [.off] {
                                    scenario.protectionOptions.lazyTLB = lazy
                                    scenarios.append(scenario)
                                }
                            }
                        }
                    }
                  }
                }
            }
        }
        guard !scenarios.isEmpty else { throw ValidationError("nothing to run: no workloads selected") }
        var notes: [String] = []
        if !leftOutForPTELock.isEmpty {
            let walkers = walkerNames.filter { w in Walkers.all.contains { $0.name == w && $0.takesPTELock } }
            notes.append("left out \(leftOutForPTELock.sorted().joined(separator: ", ")) for \(walkers.joined(separator: ", ")): it takes the PTE lock, which a walker with interrupts off must never spin on")
        }
        if skippedOversubscribed > 0 {
            notes.append("\(skippedOversubscribed) default cells skipped: more threads than the \(cpus) CPUs here (ask for them with --readers)")
        }
        if let s = scenarios.first(where: \.cpumaskTrimApplies),
           Double(s.protectionOptions.cpumaskTrimNanoseconds) / 1e9 > timing.duration {
            notes.append(String(format: "%@ with --lazy-tlb on: a repetition (%.3g s) is shorter than the cpumask trim interval (%.3g s), so each shows at most one trim (cpumask_trims); lengthen --duration or shorten --cpumask-trim-ms to see trimming",
                                s.strategy, timing.duration, Double(s.protectionOptions.cpumaskTrimNanoseconds) / 1e9))
        }
        var counterPlan = CounterPlan.none
        var counterNames = try list(counters, "counters")
        let cpuModel = RunEnvironment.capture(withRevision: false).cpuModel
        if let names = counterNames, names.contains("default") {
            counterNames = names.flatMap { $0 == "default" ? CounterPlan.defaultHardware(cpuModel: cpuModel) : [$0] }
        } else if counterNames == nil, PAPICounters.machineHasPMU {
            counterNames = CounterPlan.defaultHardware(cpuModel: cpuModel)
        }
        if let names = counterNames, !names.isEmpty {
            do { counterPlan = try CounterPlan.parse(names) } catch { throw ValidationError("\(error)") }
            if requireCounters, let first = counterPlan.notes.first {
                throw ValidationError("--require-counters: \(first)")
            }
        }
        let reference = self.reference ?? (strategyNames.contains(NoProtection.name) ? NoProtection.name : strategyNames.first)
        return Plan(scenarios: scenarios, timing: timing, reference: reference, counters: counterPlan,
                    callgrind: try callgrindSetup(windowDelay: windowDelayNanoseconds),
                    notes: notes, processes: processCount, unstableThreshold: threshold,
                    arenaHugePages: hugePages, counterNames: counterNames ?? [])
    }
}

extension RunSelection {
    /// --callgrind and --callgrind-walks: nil without --callgrind; bad input (no valgrind on PATH among
    /// it) is one line and exit 2, before anything runs or is written.
    func callgrindSetup(windowDelay: UInt64) throws -> CallgrindSetup? {
        var walks = Callgrind.defaultWalks
        if let callgrindWalks {
            guard callgrind else { throw ValidationError("--callgrind-walks needs --callgrind") }
            guard let n = Int(callgrindWalks), Callgrind.walkRange.contains(n) else {
                throw ValidationError("--callgrind-walks: \"\(callgrindWalks)\" is not allowed; use a whole number from \(Callgrind.walkRange.lowerBound) to \(Callgrind.walkRange.upperBound)")
            }
            walks = n
        }
        guard callgrind else { return nil }
        guard windowDelay == 0 else {
            throw ValidationError("--callgrind counts instructions and --window-delay-ns spins on the clock, which no count can reproduce; drop one of them")
        }
        guard let valgrind = Callgrind.findValgrind() else {
            throw ValidationError("--callgrind needs valgrind, which is not on PATH; install it (Debian: apt-get install valgrind) or drop --callgrind")
        }
        guard Callgrind.clientRequestsCompiled else {
            throw ValidationError("--callgrind: this bench was built without valgrind's headers (valgrind/callgrind.h), so it cannot switch collection on; install valgrind and rebuild")
        }
        guard let executable = Callgrind.ownExecutable() else {
            throw ValidationError("--callgrind: cannot find this executable (/proc/self/exe is unreadable)")
        }
        return CallgrindSetup(valgrind: valgrind, executable: executable, walks: walks)
    }
}

