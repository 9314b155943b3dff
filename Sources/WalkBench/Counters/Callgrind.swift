import Foundation
#if canImport(Glibc)
import Glibc
#endif
import CWalkSupport

/// `bench run --callgrind`: instruction, branch and cache counts per walk from valgrind's callgrind, the
/// same on every run.
///
/// The parent (`bench run`) starts, per scenario, `valgrind --tool=callgrind --collect-atstart=no
/// --branch-sim=yes --cache-sim=yes --callgrind-out-file=F <this executable> callgrind-child <args>`
/// (this executable: a copy without debug sections, see `Session`).
/// The child (`Callgrind.runChild`) builds the address space and the strategy as `Runner` does, makes
/// one walker CPU on its main thread, runs a warm-up, then switches collection on
/// (CALLGRIND_TOGGLE_COLLECT, see CWalkSupport/include/walkvalgrind.h), runs exactly `walks` walks inside
/// the strategy's window, switches collection off, tears down and prints what it walked. The parent
/// reads the `events:` header and the `totals:` line of F.
///
/// Why the counts repeat exactly:
/// - one walker thread and no writer thread: nothing races, nothing retires a table, no IPI is sent
///   (valgrind serialises threads anyway, but a writer's progress would still depend on scheduling);
/// - a fixed number of walks, not a duration, and no clock read or clock-bounded spin inside the
///   counted region (which is why `--window-delay-ns` is refused with `--callgrind`);
/// - the page table is populated from the scenario's seed exactly as `Runner` populates it, and the
///   walker's addresses come from the generator `Runner` gives walker 0 of repetition 1
///   (seed + 1·0x10000 + 0), the warm-up first, then the counted walks;
/// - collection covers only the walking thread between the two toggles (callgrind keeps the collect
///   state per thread, off at thread start with --collect-atstart=no), so start-up, population, the
///   warm-up, tear-down and any helper thread (liburcu's call_rcu thread) are not counted;
/// - valgrind places the client's mappings itself, without address randomisation, so the simulated
///   caches see the same addresses on every run with the same arguments and environment; the child's
///   arguments and environment are therefore made the same wherever the parent runs (relative paths, an
///   environment of its own with SWIFT_DETERMINISTIC_HASHING=1, see `Session.measure`). Before that,
///   D1mr differed by a few misses in 2000 walks between two identical runs (Ir did not).
///
/// What one walk's count includes: the address choice (SplitMix64), the strategy's begin/end, the walk,
/// the oracle check (unless `--no-oracle`), and the strategy's `quiescent` once per batch of
/// `Timing.batch` walks, as `Runner.readerLoop` does; not the loop's timer reads.
///
/// Column mapping (callgrind's event names, valgrind 3.19 with --cache-sim=yes --branch-sim=yes):
/// `cg_ir_per_walk` = Ir (instructions executed), `cg_bcm_per_walk` = Bcm (conditional branches
/// mispredicted), `cg_bim_per_walk` = Bim (indirect jumps and calls mispredicted), `cg_d1mr_per_walk` =
/// D1mr (L1 data read misses), `cg_llmr_per_walk` = DLmr (last-level data read misses; instruction-fetch
/// misses, ILmr, are left out). Callgrind simulates a two-level cache with the host's L1 and last-level
/// sizes (as the host's CPUID reports them, so they can differ between machines and VMs), and a simple
/// branch predictor (a table of two-bit counters for conditionals, a branch-target table keyed by the
/// branch's address for indirect jumps and calls): model counts, stable and comparable, not the hardware's.
///
/// What the model cannot show: callgrind counts no `ret` as a branch at all ("we assume the return stack
/// predictor never mispredicts", callgrind/main.c). A retpoline turns `call *%r11` into two direct calls
/// and a `ret`, so under callgrind a retpolined hook call is no indirect branch and `cg_bim_per_walk`
/// drops to about 0 for `c-retpoline` (below `c-indirect`'s), although on hardware that `ret` is
/// mispredicted on purpose every time. A retpoline shows here only as its few extra instructions in
/// `cg_ir_per_walk`; its real cost is in the timed columns.
public enum Callgrind {
    /// Walks counted per scenario unless `--callgrind-walks` says otherwise.
    public static let defaultWalks = 20_000
    /// What `--callgrind-walks` accepts.
    public static let walkRange = 1...10_000_000
    /// Walks run before collection starts: resolves lazy bindings, fills the simulated caches and the
    /// branch predictor with the loop's code.
    public static let warmupWalks = 1_024
    /// The hidden subcommand the parent runs under valgrind.
    public static let childCommand = "callgrind-child"
    /// How long one child may run before it is killed and the scenario fails: generous (callgrind runs
    /// a 2 MiB callback walk of the release build in under 1 ms, a lookup in about 0.1 ms).
    public static func timeoutSeconds(walks: Int) -> Double { 600 + 0.05 * Double(walks) }

    /// The columns appended to a run's CSV with `--callgrind`, and the event each per-walk column divides.
    public static let perWalkColumns: [(column: String, event: String)] = [
        ("cg_ir_per_walk", "Ir"), ("cg_bcm_per_walk", "Bcm"), ("cg_bim_per_walk", "Bim"),
        ("cg_d1mr_per_walk", "D1mr"), ("cg_llmr_per_walk", "DLmr"),
    ]
    public static var columns: [String] { perWalkColumns.map(\.column) + ["cg_walks"] }

    /// The valgrind options every child runs under (the output file is added per run).
    public static let valgrindOptions = ["--tool=callgrind", "--collect-atstart=no", "--branch-sim=yes", "--cache-sim=yes"]

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    // MARK: Finding the tools

    /// True if this build was compiled with valgrind's client-request headers (without them the
    /// toggles are no-ops and nothing would be counted).
    public static var clientRequestsCompiled: Bool { wb_valgrind_headers() != 0 }

    /// The first executable named `valgrind` in `path` (a PATH-style list), or nil.
    public static func findValgrind(path: String? = ProcessInfo.processInfo.environment["PATH"]) -> String? {
        findExecutable(["valgrind"], path: path)
    }

    /// The path of the running executable (/proc/self/exe), or nil.
    public static func ownExecutable() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: The child's request: a scenario as command-line arguments

    /// What the child runs: everything of the scenario that decides what one walk executes.
    public struct ChildRequest: Sendable, Hashable {
        public var geometry: String
        public var workloadName: String
        public var workloadKind: String
        public var mappedBytes: UInt64
        public var density: Double
        public var hugeFraction: Double
        public var pteFolioOrder: Int
        public var strategy: String
        public var walker: String
        public var dispatch: String
        public var oracle: Bool
        public var span: UInt64
        public var takeReference: Bool
        public var pin: Bool
        public var seed: UInt64
        public var batch: Int
        public var batchFailRate: Double
        public var extraWork: UInt64
        public var walks: Int

        /// The request that reproduces one walker of `scenario` (its thread counts and timing aside).
        public init(_ scenario: Scenario, walks: Int) {
            geometry = scenario.geometry.name
            workloadName = scenario.workload.name
            workloadKind = scenario.workload.kind
            mappedBytes = scenario.workload.mappedBytes
            density = scenario.workload.density
            hugeFraction = scenario.workload.hugeFraction
            pteFolioOrder = scenario.workload.pteFolioOrder
            strategy = scenario.strategy
            walker = scenario.walker
            dispatch = scenario.dispatch
            oracle = scenario.oracle
            span = scenario.walkOptions.span
            takeReference = scenario.walkOptions.takeReference
            pin = scenario.walkOptions.pin
            seed = scenario.seed
            batch = scenario.timing.batch
            batchFailRate = scenario.protectionOptions.batchFailRate
            extraWork = scenario.walkOptions.extraWork
            self.walks = walks
        }

        static let keys = ["geometry", "workload", "kind", "mapped", "density", "huge-fraction", "pte-folio-order", "strategy", "walker",
                           "dispatch", "oracle", "span", "take-ref", "seed", "batch", "batch-fail-rate", "extra-work", "walks"]

        /// `--key value` pairs, every key present; doubles in Swift's shortest round-trip form.
        public var arguments: [String] {
            let values: [String: String] = [
                "geometry": geometry, "workload": workloadName, "kind": workloadKind, "mapped": String(mappedBytes),
                "density": String(density), "huge-fraction": String(hugeFraction), "pte-folio-order": String(pteFolioOrder), "strategy": strategy,
                "walker": walker, "dispatch": dispatch, "oracle": oracle ? "on" : "off", "span": String(span),
                "take-ref": !takeReference ? "off" : pin ? "pin" : "on", "seed": String(seed), "batch": String(batch),
                "batch-fail-rate": String(batchFailRate), "extra-work": String(extraWork), "walks": String(walks),
            ]
            return Self.keys.flatMap { ["--\($0)", values[$0]!] }
        }

        /// Parses `arguments`; an unknown, missing, repeated or bad key is an error naming it.
        public init(arguments: [String]) throws {
            var values: [String: String] = [:]
            var i = 0
            while i < arguments.count {
                let a = arguments[i]
                guard a.hasPrefix("--"), Self.keys.contains(String(a.dropFirst(2))) else {
                    throw Failure(description: "\(Callgrind.childCommand): unexpected argument \"\(a)\"; expected --key value with keys \(Self.keys.joined(separator: ", "))")
                }
                guard i + 1 < arguments.count else { throw Failure(description: "\(Callgrind.childCommand): \(a) needs a value") }
                let key = String(a.dropFirst(2))
                guard values[key] == nil else { throw Failure(description: "\(Callgrind.childCommand): \(a) given twice") }
                values[key] = arguments[i + 1]
                i += 2
            }
            func value(_ key: String) throws -> String {
                guard let v = values[key] else { throw Failure(description: "\(Callgrind.childCommand): missing --\(key)") }
                return v
            }
            func bad(_ key: String, _ allowed: String) throws -> Failure {
                Failure(description: "\(Callgrind.childCommand): --\(key) \"\(try value(key))\" is not allowed; \(allowed)")
            }
            func onOff(_ key: String) throws -> Bool {
                switch try value(key) {
                case "on": return true
                case "off": return false
                default: throw try bad(key, "use on or off")
                }
            }
            geometry = try value("geometry")
            guard Geometry.named(geometry) != nil else { throw try bad("geometry", "use one of \(Geometry.presets.map(\.name).joined(separator: ", "))") }
            workloadName = try value("workload")
            workloadKind = try value("kind")
            guard Workloads.kind(named: workloadKind) != nil else { throw try bad("kind", "use one of \(Workloads.kinds.map { $0.name }.joined(separator: ", "))") }
            guard let m = UInt64(try value("mapped")), m > 0 else { throw try bad("mapped", "use a positive number of bytes") }
            mappedBytes = m
            guard let d = Double(try value("density")), d > 0, d <= 1 else { throw try bad("density", "use a number in (0, 1]") }
            density = d
            guard let h = Double(try value("huge-fraction")), h >= 0, h <= 1 else { throw try bad("huge-fraction", "use a number in [0, 1]") }
            hugeFraction = h
            guard let o = Int(try value("pte-folio-order")), (0...Workload.maxPTEFolioOrder).contains(o) else {
                throw try bad("pte-folio-order", "use a whole number from 0 to \(Workload.maxPTEFolioOrder)")
            }
            pteFolioOrder = o
            strategy = try value("strategy")
            guard Strategies.names.contains(strategy) else { throw try bad("strategy", "use one of \(Strategies.names.joined(separator: ", "))") }
            walker = try value("walker")
            dispatch = try value("dispatch")
            guard Walkers.dispatches(of: walker).contains(dispatch) else {
                throw Failure(description: "\(Callgrind.childCommand): no walker \"\(walker)\" with dispatch \"\(dispatch)\" (walkers: \(Walkers.names.joined(separator: ", ")))")
            }
            oracle = try onOff("oracle")
            guard let s = UInt64(try value("span")), s > 0 else { throw try bad("span", "use a positive number of bytes") }
            span = s
            let takeRef = try value("take-ref")
            guard ["on", "off", "pin"].contains(takeRef) else { throw try bad("take-ref", "use on, off or pin") }
            takeReference = takeRef != "off"
            pin = takeRef == "pin"
            guard let seed = UInt64(try value("seed")) else { throw try bad("seed", "use a whole number") }
            self.seed = seed
            guard let b = Int(try value("batch")), b >= 1 else { throw try bad("batch", "use a whole number from 1") }
            batch = b
            guard let p = Double(try value("batch-fail-rate")), p >= 0, p <= 1 else { throw try bad("batch-fail-rate", "use a probability from 0 to 1") }
            batchFailRate = p
            guard let x = UInt64(try value("extra-work")), x <= RunLimits.extraWorkMax else {
                throw try bad("extra-work", "use a whole number from 0 to \(RunLimits.extraWorkMax)")
            }
            extraWork = x
            guard let w = Int(try value("walks")), Callgrind.walkRange.contains(w) else {
                throw try bad("walks", "use a whole number from \(Callgrind.walkRange.lowerBound) to \(Callgrind.walkRange.upperBound)")
            }
            walks = w
        }

        /// The scenario the child builds: one walker, no writers.
        public var scenario: Scenario {
            let kind = Workloads.kind(named: workloadKind)!
            var workload = kind.preset
            workload.name = workloadName
            workload.mappedBytes = mappedBytes
            workload.density = density
            workload.hugeFraction = hugeFraction
            workload.pteFolioOrder = pteFolioOrder
            workload.readers = 1
            workload.writers = 0
            var timing = Timing()
            timing.batch = batch
            timing.repetitions = 1
            var s = Scenario(geometry: Geometry.named(geometry)!, workload: workload, strategy: strategy, walker: walker,
                             readers: 1, writers: 0, oracle: oracle,
                             walkOptions: WalkOptions(span: span, takeReference: takeReference, extraWork: extraWork, pin: pin), timing: timing, seed: seed)
            s.dispatch = dispatch
            s.protectionOptions.batchFailRate = batchFailRate
            return s
        }
    }

    // MARK: The child: the counted walks

    /// What the child walked, printed on its stdout as one line of `key=value` words.
    public struct ChildReport: Sendable, Equatable {
        public var walks: UInt64 = 0
        public var leaves: UInt64 = 0
        public var uaf: UInt64 = 0
        public var retries: UInt64 = 0
        /// 1 under valgrind (RUNNING_ON_VALGRIND), 0 natively.
        public var valgrind: Int = 0

        public init() {}

        public var line: String { "walks=\(walks) leaves=\(leaves) uaf=\(uaf) retries=\(retries) valgrind=\(valgrind)" }

        /// Parses `line`'s format out of a child's stdout (the last line that has it).
        public init?(output: String) {
            for line in output.split(separator: "\n").reversed() {
                var fields: [String: UInt64] = [:]
                for word in line.split(separator: " ") {
                    let kv = word.split(separator: "=", maxSplits: 1)
                    if kv.count == 2, let v = UInt64(kv[1]) { fields[String(kv[0])] = v }
                }
                guard let w = fields["walks"], let l = fields["leaves"], let u = fields["uaf"] else { continue }
                walks = w
                leaves = l
                uaf = u
                retries = fields["retries"] ?? 0
                valgrind = Int(fields["valgrind"] ?? 0)
                return
            }
            return nil
        }
    }

    /// Runs the child's work in this process: builds the scenario's address space and strategy as
    /// `Runner` does, warms up, counts `request.walks` walks between two collection toggles, tears down.
    /// Natively (not under valgrind) the toggles do nothing, so this is also what the tests call.
    public static func runChild(_ request: ChildRequest) throws -> ChildReport {
        try request.scenario.withConcreteTypes(CountedWalks(walks: request.walks))
    }

    private struct CountedWalks: ScenarioBody {
        let walks: Int
        func run<P: WalkProtection, W: PageWalker, L: OracleLog>(
            _ scenario: Scenario, _: P.Type, _: W.Type, _: L.Type
        ) throws -> ChildReport {
            try Callgrind.countSpecialised(scenario, walks: walks, P.self, W.self, L.self)
        }
    }

    /// `Runner.runSpecialised` for one walker CPU (CPU 0, the calling thread) and no writers.
    static func countSpecialised<P: WalkProtection, W: PageWalker, L: OracleLog>(
        _ scenario: Scenario, walks: Int, _: P.Type, _: W.Type, _: L.Type
    ) throws -> ChildReport {
        // No clock is read in the counted region; the fallback clock spares a calibration.
        let timeBase = TimeBase.fallback
        let mm = try Runner.buildAddressSpace(scenario, clock: nil)
        // As Runner: one CPU per thread (the walker) plus the controller's, for tear-down.
        let protection = try P(ProtectionContext(mm: mm, cpuCount: 2, options: scenario.protectionOptions, timeBase: timeBase))
        let cpu = 0
        mm.cpumask.set(cpu)
        protection.cpuStarted(cpu)
        // Runner's seed for walker 0 of repetition 1.
        let seed = scenario.seed &+ UInt64(1) &* 0x1_0000 &+ UInt64(cpu)
        var report = countedWalks(protection: protection, walker: W.self, oracle: L.self, mm: mm,
                                  options: scenario.walkOptions, batch: scenario.timing.batch, walks: walks, seed: seed)
        mm.cpumask.clear(cpu)
        protection.cpuStopping(cpu)

        let tearDownCPU = 1
        protection.cpuStarted(tearDownCPU)
        try mm.tearDown(protection: protection, cpu: tearDownCPU)
        protection.cpuStopping(tearDownCPU)
        guard mm.pool.liveTables == 1 else {
            throw Failure(description: "\(scenario.label): \(mm.pool.liveTables - 1) tables still live after tear-down (leak)")
        }
        report.valgrind = Int(wb_running_on_valgrind())
        return report
    }

    /// The counted loop: `Runner.readerLoop`'s walks (its `WalkLoop`, the same per-walk code), in
    /// batches with the strategy's `quiescent` between them, no timer reads; collection is on only around
    /// the `walks` counted walks.
    @inline(never)
    static func countedWalks<P: WalkProtection, W: PageWalker, L: OracleLog>(
        protection: P, walker _: W.Type, oracle _: L.Type, mm: AddressSpace, options: WalkOptions,
        batch: Int, walks: Int, seed: UInt64
    ) -> ChildReport {
        let cpu = 0
        var loop = WalkLoop<P, W, L>(protection: protection, cpu: cpu, mm: mm, options: options,
                                     delayTicks: 0, timeBase: .fallback, seed: seed)
        defer { loop.window.log.release() }

        walkBatches(&loop, protection: protection, cpu: cpu, walks: warmupWalks, batch: batch)
        loop.resetCounts()
        wb_callgrind_zero_stats()
        wb_callgrind_toggle_collect()
        walkBatches(&loop, protection: protection, cpu: cpu, walks: walks, batch: batch)
        wb_callgrind_toggle_collect()
        wb_consume(loop.checksum)

        var report = ChildReport()
        report.walks = UInt64(walks)
        report.leaves = loop.leaves
        report.uaf = loop.uaf
        report.retries = loop.retries
        return report
    }

    /// `walks` walks in batches of `batch`, `quiescent` after each. The loop state is an inout
    /// parameter, not a captured variable, so its exclusive access is checked statically (see WalkLoop).
    @inline(__always)
    static func walkBatches<P: WalkProtection, W: PageWalker, L: OracleLog>(
        _ loop: inout WalkLoop<P, W, L>, protection: P, cpu: Int, walks: Int, batch: Int
    ) {
        var left = walks
        while left > 0 {
            let k = min(left, batch)
            loop.walkBatch(k)
            protection.quiescent(cpu: cpu)
            left -= k
        }
    }

    // MARK: The parent: running valgrind and reading its output

    /// One scenario's counts: callgrind's event totals over the counted walks.
    public struct Counts: Sendable, Equatable {
        /// Event name (Ir, Bcm, ...) to its total.
        public var totals: [String: UInt64]
        public var walks: UInt64

        public init(totals: [String: UInt64], walks: UInt64) {
            self.totals = totals
            self.walks = walks
        }

        public func perWalk(_ event: String) -> Double? {
            guard walks > 0, let t = totals[event] else { return nil }
            return Double(t) / Double(walks)
        }

        /// The values of `Callgrind.columns`, in order.
        public var fields: [String] {
            perWalkColumns.map { ResultRow.number(perWalk($0.event), digits: 4) ?? "" } + [String(walks)]
        }
    }

    /// The event totals of a callgrind output file: the `events:` header names them, the `totals:` lines
    /// (one per dump part, summed) or else the `summary:` lines count them; missing trailing counts are 0.
    public static func parseOutput(_ text: String) throws -> [String: UInt64] {
        var events: [String] = []
        var totals: [[UInt64]] = []
        var summaries: [[UInt64]] = []
        func numbers(_ rest: Substring) throws -> [UInt64] {
            try rest.split(separator: " ", omittingEmptySubsequences: true).map {
                guard let n = UInt64($0) else { throw Failure(description: "callgrind output: \"\($0)\" is not a count") }
                return n
            }
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("events:") {
                events = line.dropFirst("events:".count).split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            } else if line.hasPrefix("totals:") {
                totals.append(try numbers(line.dropFirst("totals:".count)))
            } else if line.hasPrefix("summary:") {
                summaries.append(try numbers(line.dropFirst("summary:".count)))
            }
        }
        guard !events.isEmpty else { throw Failure(description: "callgrind output: no events: line") }
        let rows = totals.isEmpty ? summaries : totals
        guard !rows.isEmpty else { throw Failure(description: "callgrind output: no totals: or summary: line") }
        var result: [String: UInt64] = [:]
        for (i, e) in events.enumerated() {
            result[e] = rows.reduce(0) { $0 + (i < $1.count ? $1[i] : 0) }
        }
        return result
    }

    /// What runs the children of one `bench run`: valgrind, and the executable it runs.
    ///
    /// valgrind 3.19 (Debian 12) cannot read the DWARF 5 debug information Swift 6's toolchain emits
    /// (DW_FORM_strx / addrx: "debuginfo reader: Possibly corrupted debuginfo file ... Giving up"), so the
    /// child is a copy of this executable with its debug sections removed (`objcopy --strip-debug`, or
    /// llvm-objcopy): the loaded segments, and so every instruction and address, are the original's. Only
    /// callgrind's per-function attribution loses names, and only the totals are read. Without an objcopy
    /// on PATH the original is run (fine for a valgrind that reads its debug information).
    public final class Session {
        public let valgrind: String
        /// The executable valgrind runs (a stripped copy when one could be made).
        public let executable: String
        /// Why the original executable is run, when it is.
        public let note: String?
        private let directory: URL

        public init(valgrind: String, executable original: String) throws {
            self.valgrind = valgrind
            let fm = FileManager.default
            directory = fm.temporaryDirectory.appendingPathComponent("walkbench-callgrind-\(UUID().uuidString)", isDirectory: true)
            try fm.createDirectory(at: directory, withIntermediateDirectories: true)
            let copy = directory.appendingPathComponent("bench").path
            if let objcopy = Callgrind.findExecutable(["objcopy", "llvm-objcopy"]) {
                let (status, output) = Callgrind.runQuietly(objcopy, ["--strip-debug", original, copy], in: directory)
                if status == 0, fm.isExecutableFile(atPath: copy) {
                    executable = copy
                    note = nil
                } else {
                    executable = original
                    note = "\(objcopy) --strip-debug failed (status \(status)): \(output.split(separator: "\n").first ?? "")"
                }
            } else {
                executable = original
                note = "no objcopy or llvm-objcopy on PATH to strip debug information valgrind may not read"
            }
        }

        deinit { try? FileManager.default.removeItem(at: directory) }

        /// Runs `request` under callgrind and returns its counts.
        ///
        /// The child's argument and environment strings are the same wherever and whenever the parent
        /// runs (relative paths in the session directory; an environment of its own), because they sit
        /// at the top of the client's stack: a different length would move every stack address and with
        /// it the simulated cache sets the walk loop's stack data falls in. SWIFT_DETERMINISTIC_HASHING
        /// fixes Swift's per-process hash seed, which otherwise varies the heap layout from run to run.
        public func measure(_ request: ChildRequest) throws -> Counts {
            let fm = FileManager.default
            let outName = "callgrind.out"
            let outFile = directory.appendingPathComponent(outName).path
            let stdoutFile = directory.appendingPathComponent("child.stdout").path
            let stderrFile = directory.appendingPathComponent("child.stderr").path
            defer { for f in [outFile, stdoutFile, stderrFile] { try? fm.removeItem(atPath: f) } }
            try? fm.removeItem(atPath: outFile)
            let program = executable == directory.appendingPathComponent("bench").path ? "./bench" : executable
            let arguments = valgrindOptions + ["--callgrind-out-file=\(outName)", program, childCommand] + request.arguments
            var environment = ["SWIFT_DETERMINISTIC_HASHING": "1"]
            if let libraries = ProcessInfo.processInfo.environment["LD_LIBRARY_PATH"] { environment["LD_LIBRARY_PATH"] = libraries }
            let timeout = timeoutSeconds(walks: request.walks)
            let status = try Callgrind.run(valgrind, arguments, stdout: stdoutFile, stderr: stderrFile, timeout: timeout,
                                           directory: directory, environment: environment)

            let out = (try? String(contentsOfFile: stdoutFile, encoding: .utf8)) ?? ""
            let err = (try? String(contentsOfFile: stderrFile, encoding: .utf8)) ?? ""
            func lastLines(_ s: String) -> String {
                s.split(separator: "\n").suffix(3).joined(separator: " | ")
            }
            guard let status else { throw Failure(description: "valgrind did not finish within \(Int(timeout)) s; killed") }
            guard status == 0 else {
                throw Failure(description: "valgrind exited with status \(status): \(lastLines(err))" + (note.map { " (\($0))" } ?? ""))
            }
            guard let report = ChildReport(output: out) else {
                throw Failure(description: "the child printed no report: \(lastLines(out)) \(lastLines(err))")
            }
            guard report.valgrind != 0 else { throw Failure(description: "the child did not run under valgrind") }
            guard report.walks == UInt64(request.walks) else {
                throw Failure(description: "the child walked \(report.walks) times, \(request.walks) asked for")
            }
            guard let text = try? String(contentsOfFile: outFile, encoding: .utf8) else {
                throw Failure(description: "callgrind wrote no output file \(outFile)")
            }
            let totals = try parseOutput(text)
            guard (totals["Ir"] ?? 0) > 0 else {
                throw Failure(description: "callgrind counted no instructions (collection never switched on?)")
            }
            return Counts(totals: totals, walks: report.walks)
        }
    }

    /// The first of `names` found as an executable on PATH.
    static func findExecutable(_ names: [String], path: String? = ProcessInfo.processInfo.environment["PATH"]) -> String? {
        guard let path else { return nil }
        for name in names {
            for dir in path.split(separator: ":", omittingEmptySubsequences: true) {
                let candidate = String(dir) + "/" + name
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
                   FileManager.default.isExecutableFile(atPath: candidate) {
                    return candidate
                }
            }
        }
        return nil
    }

    /// Runs `tool` with output to files; returns the exit status (a signal's number + 128), or nil when
    /// it was killed after `timeout` seconds.
    static func run(_ tool: String, _ arguments: [String], stdout: String, stderr: String, timeout: Double,
                    directory: URL? = nil, environment: [String: String]? = nil) throws -> Int32? {
        let fm = FileManager.default
        guard fm.createFile(atPath: stdout, contents: nil), fm.createFile(atPath: stderr, contents: nil) else {
            throw Failure(description: "cannot create \(stdout) or \(stderr)")
        }
        let stdoutHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: stdout))
        let stderrHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: stderr))
        defer {
            try? stdoutHandle.close()
            try? stderrHandle.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if let environment { process.environment = environment }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdoutHandle
        process.standardError = stderrHandle
        do { try process.run() } catch {
            throw Failure(description: "cannot start \(tool): \(error.localizedDescription)")
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    }

    /// Runs a short tool (objcopy) and returns its status and its output.
    static func runQuietly(_ tool: String, _ arguments: [String], in directory: URL) -> (Int32, String) {
        let out = directory.appendingPathComponent("tool-\(UUID().uuidString).out").path
        let err = out + ".err"
        defer {
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: err)
        }
        guard let status = try? run(tool, arguments, stdout: out, stderr: err, timeout: 120) else { return (-1, "did not run") }
        let text = ((try? String(contentsOfFile: err, encoding: .utf8)) ?? "") + ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
        return (status, text)
    }
}
