import Foundation

/// The CSV schema. The leading columns are frozen (identity and parameters, then the foundation's
/// metrics); later columns are appended, never inserted, so existing readers keep working.
public enum Columns {
    public static let leading: [String] = [
        "run_id", "timestamp_utc", "host", "cpu_model", "logical_cpus", "kernel", "spectre_v2", "toolchain", "build",
        "git_rev", "geometry", "workload", "strategy", "walker", "dispatch", "readers", "writers", "repetition",
        "duration_s", "walks", "walks_per_s", "ns_per_walk_p50", "ns_per_walk_p90", "ns_per_walk_p99",
        "ns_per_walk_mean", "writer_ops", "writer_latency_us_p50", "writer_latency_us_p99", "tables_freed",
        "tables_pending_peak", "uaf_detected", "oracle",
    ]

    /// Appended after the frozen block, in this order; later additions go at the end.
    public static let appended: [String] = [
        "ipis_sent", "writer_wait_us_p50", "writer_wait_us_p99", "grace_period_us_p50", "grace_period_us_p99",
        "bytes_pending_peak",
        "walk_retries", "take_ref", "mapped_bytes", "density", "huge_fraction", "writer_delay_ns", "warmup_s",
        "batch", "seed", "window_delay_ns", "batch_fail_rate", "foreign_walkers",
        "pinning", "timer", "timer_overhead_ns", "smt", "governor", "perf_event_paranoid",
        "span_bytes", "leaves", "ns_per_leaf_mean",
        "lazy_tlb", "reader_idle_ns", "ipis_skipped_lazy", "lazy_walkers",
        "process", "processes", "extra_work", "strategy_rev", "walker_rev", "workload_rev", "timer_resolution_ns",
        "thp", "arena_hugepages", "preflight", "preflight_other_cpu_pct", "preflight_steal_pct", "loadavg_1m",
        "other_cpu_pct", "steal_pct", "disturbed", "cell_spread_pct", "unstable", "tables_freed_during_walks",
        "cpumask_policy", "cpumask_trim_ms", "cpumask_trims", "pt_reclaim", "page_uaf_detected", "ref_contention",
        "pte_folio_order",
    ]

    public static let all: [String] = leading + appended
    /// Columns added after files that lack them were written, where lacking them loses nothing a
    /// comparison needs: such files are still read (baselines saved before stay usable).
    public static let optional: Set<String> = ["tables_freed_during_walks", "cpumask_policy", "cpumask_trim_ms", "cpumask_trims",
                                                   "pt_reclaim", "page_uaf_detected", "ref_contention", "pte_folio_order"]
    /// Each column's position in `all`.
    public static let slot: [String: Int] = Dictionary(uniqueKeysWithValues: all.enumerated().map { ($1, $0) })
    public static func slots(of header: [String]) -> [Int?] { header.map { slot[$0] } }
}

/// One CSV row: column name to value. Unknown column names are a bug.
public struct ResultRow: Sendable {
    /// The schema's columns by their position in `Columns.all` (no hashing per row: comparisons read
    /// tens of thousands of rows).
    private var slots = [String?](repeating: nil, count: Columns.all.count)
    /// Columns that depend on the run (one pair per requested counter, and the note).
    public private(set) var counterValues: [String: String] = [:]

    public init() {}

    /// A row read back from a CSV: known columns as values, the rest (counters, callgrind) as extras.
    public init(header: [String], fields: [String]) {
        self.init(slotsOf: Columns.slots(of: header), header: header, fields: fields)
    }

    /// The same with the header's slots worked out once for a whole file.
    public init(slotsOf slots: [Int?], header: [String], fields: [String]) {
        for i in 0..<min(header.count, fields.count) where !fields[i].isEmpty {
            if let slot = slots[i] { self.slots[slot] = fields[i] } else { counterValues[header[i]] = fields[i] }
        }
    }

    /// The run-dependent columns this row has values for.
    public var extraColumns: [String] { Array(counterValues.keys) }

    /// A run-dependent column's value (a counter's, callgrind's).
    public func extra(_ column: String) -> String? { counterValues[column] }

    /// Sets a run-dependent column (a counter's, callgrind's).
    public mutating func setExtra(_ column: String, _ value: String?) { counterValues[column] = value }

    public subscript(column: String) -> String? {
        get { Columns.slot[column].flatMap { slots[$0] } }
        set {
            guard let i = Columns.slot[column] else { preconditionFailure("no CSV column named \(column)") }
            slots[i] = newValue
        }
    }

    /// The value at a schema position (`Columns.slot`).
    @inline(__always) public func value(slot: Int) -> String? { slots[slot] }

    public func fields(_ header: [String] = Columns.all) -> [String] {
        header.map { c in Columns.slot[c].flatMap { slots[$0] } ?? counterValues[c] ?? "" }
    }

    /// The counter columns of `plan`: per walk over the walker threads, per operation over the writer
    /// threads (process-wide SDE events divide the same total by both); empty when not counted.
    public mutating func setCounters(_ plan: CounterPlan, _ m: RepetitionResult) {
        guard !plan.isEmpty else { return }
        let processScope = Set(plan.processEvents)
        for e in plan.events {
            let stem = CounterPlan.column(e)
            let perWalkTotal = processScope.contains(e) ? m.processCounters.value(e) : m.readerCounters.value(e)
            let perOpTotal = processScope.contains(e) ? m.processCounters.value(e) : m.writerCounters.value(e)
            counterValues[stem + "_per_walk"] = m.walks > 0 ? perWalkTotal.flatMap { Self.number($0 / Double(m.walks), digits: 4) } : nil
            counterValues[stem + "_per_op"] = m.writerOps > 0 ? perOpTotal.flatMap { Self.number($0 / Double(m.writerOps), digits: 4) } : nil
        }
        var notes = plan.notes
        let scaled = m.readerCounters.scaledFraction.merging(m.writerCounters.scaledFraction) { min($0, $1) }
        for e in plan.events where scaled[e] != nil {
            notes.append(scaled[e]! > 0 ? "\(e): multiplexed, ran \(Self.number(scaled[e]! * 100, digits: 1)!)% of the time, scaled"
                                        : "\(e): multiplexed, scaled by PAPI")
        }
        counterValues["counters_note"] = notes.joined(separator: "; ")
    }

    /// Plain decimal, no exponent, at most `digits` decimals, trailing zeros dropped.
    public static func number(_ x: Double?, digits: Int = 3) -> String? {
        guard let x, x.isFinite else { return nil }
        var s = String(format: "%.\(digits)f", x)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s == "-0" ? "0" : s
    }

    /// Builds the row for one repetition of one scenario.
    public static func make(run: RunInfo, scenario: Scenario, measurement m: RepetitionResult) -> ResultRow {
        let env = run.environment
        let tb = run.timeBase
        var r = ResultRow()
        r["run_id"] = run.id
        r["timestamp_utc"] = run.timestamp
        r["host"] = env.host
        r["cpu_model"] = env.cpuModel
        r["logical_cpus"] = String(env.logicalCPUs)
        r["kernel"] = env.kernel
        r["spectre_v2"] = env.spectreV2
        r["toolchain"] = env.toolchain
        r["build"] = env.build
        r["git_rev"] = env.gitRevision
        r["geometry"] = scenario.geometry.name
        r["workload"] = scenario.workload.name
        r["strategy"] = scenario.strategy
        r["walker"] = scenario.walker
        r["dispatch"] = scenario.dispatch
        r["readers"] = String(scenario.readers)
        r["writers"] = String(scenario.writers)
        r["repetition"] = String(m.repetition)
        r["duration_s"] = number(m.measuredSeconds, digits: 4)
        r["walks"] = String(m.walks)
        r["walks_per_s"] = number(m.measuredSeconds > 0 ? Double(m.walks) / m.measuredSeconds : nil, digits: 0)
        r["ns_per_walk_p50"] = number(Statistics.percentile(m.walkLatency, 50, timeBase: tb))
        r["ns_per_walk_p90"] = number(Statistics.percentile(m.walkLatency, 90, timeBase: tb))
        r["ns_per_walk_p99"] = number(Statistics.percentile(m.walkLatency, 99, timeBase: tb))
        r["ns_per_walk_mean"] = number(m.walks > 0 ? tb.nanoseconds(m.walkTicks) / Double(m.walks) : nil)
        r["writer_ops"] = String(m.writerOps)
        r["writer_latency_us_p50"] = number(Statistics.percentile(m.writerLatency, 50, timeBase: tb).map { $0 / 1000 })
        r["writer_latency_us_p99"] = number(Statistics.percentile(m.writerLatency, 99, timeBase: tb).map { $0 / 1000 })
        r["tables_freed"] = String(m.tablesFreed)
        r["tables_freed_during_walks"] = m.tablesFreedDuringWalks.map(String.init) ?? ""

        r["tables_pending_peak"] = String(m.tablesPendingPeak)
        // With the oracle off nothing was checked: an empty cell, not a zero that looks like SAFE.
        r["uaf_detected"] = scenario.oracle ? String(m.uafDetected) : nil
        r["page_uaf_detected"] = scenario.oracle && scenario.walkOptions.takeReference ? String(m.pageUAFDetected) : ""
        r["ref_contention"] = String(m.collapsesRefused)
        r["oracle"] = scenario.oracle ? "on" : "off"
        r["ipis_sent"] = m.ipisSent.map { String($0) }
        r["writer_wait_us_p50"] = number(Statistics.percentile(m.writerWait, 50, timeBase: tb).map { $0 / 1000 })
        r["writer_wait_us_p99"] = number(Statistics.percentile(m.writerWait, 99, timeBase: tb).map { $0 / 1000 })
        r["grace_period_us_p50"] = number(m.gracePeriods.flatMap { Statistics.percentile($0, 50, timeBase: tb) }.map { $0 / 1000 })
        r["grace_period_us_p99"] = number(m.gracePeriods.flatMap { Statistics.percentile($0, 99, timeBase: tb) }.map { $0 / 1000 })
        r["bytes_pending_peak"] = String(m.bytesPendingPeak)
        r["walk_retries"] = String(m.walkRetries)
        r["take_ref"] = scenario.walkOptions.takeRefColumn
        r["mapped_bytes"] = String(scenario.workload.mappedBytes)
        r["density"] = number(scenario.workload.density, digits: 4)
        r["huge_fraction"] = number(scenario.workload.hugeFraction, digits: 4)
        // Empty for small pages, as in files written before the column: their cells still match.
        r["pte_folio_order"] = scenario.workload.pteFolioOrder == 0 ? "" : String(scenario.workload.pteFolioOrder)
        r["writer_delay_ns"] = String(scenario.workload.writerDelayNanoseconds)
        r["warmup_s"] = number(scenario.timing.warmup, digits: 3)
        r["batch"] = String(scenario.timing.batch)
        r["seed"] = String(scenario.seed)
        r["window_delay_ns"] = String(scenario.windowDelayNanoseconds)
        r["batch_fail_rate"] = scenario.batchFailRateApplies ? number(scenario.protectionOptions.batchFailRate, digits: 4) : "n/a"
        r["foreign_walkers"] = scenario.foreignWalkers ? "yes" : "no"
        r["pinning"] = m.pinning
        r["timer"] = tb.source.rawValue
        r["timer_overhead_ns"] = number(tb.overheadNanoseconds, digits: 2)
        r["smt"] = env.smt
        r["governor"] = env.governor
        r["perf_event_paranoid"] = env.perfEventParanoid
        r["span_bytes"] = String(scenario.walkOptions.span)
        r["leaves"] = String(m.leaves)
        r["ns_per_leaf_mean"] = number(m.leaves > 0 ? tb.nanoseconds(m.walkTicks) / Double(m.leaves) : nil, digits: 4)
        r["lazy_tlb"] = scenario.lazyTLBApplies ? scenario.protectionOptions.lazyTLB.rawValue : "n/a"
        r["reader_idle_ns"] = String(scenario.workload.readerIdleNanoseconds)
        r["ipis_skipped_lazy"] = m.ipisSkippedLazy.map { String($0) }
        r["lazy_walkers"] = scenario.lazyWalkers ? "yes" : "no"
        r["cpumask_policy"] = Strategies.all.first { $0.name == scenario.strategy }?.cpumaskPolicy.rawValue ?? ""
        // Empty where it does not apply, as files written before the column: their cells still match.
        r["cpumask_trim_ms"] = scenario.cpumaskTrimApplies
            ? number(Double(scenario.protectionOptions.cpumaskTrimNanoseconds) / 1e6, digits: 3) : ""
        r["cpumask_trims"] = m.cpumaskTrims.map { String($0) }
        // Empty unless on, as in files written before the column: cells without it still match.
        r["pt_reclaim"] = scenario.batchFailRateApplies && scenario.protectionOptions.ptReclaim ? "on" : ""
        r["process"] = String(run.process)
        r["processes"] = String(run.processes)
        r["extra_work"] = String(scenario.walkOptions.extraWork)
        let rev = scenario.revisions
        r["strategy_rev"] = String(rev.strategy)
        r["walker_rev"] = String(rev.walker)
        r["workload_rev"] = String(rev.workload)
        r["timer_resolution_ns"] = number(tb.resolutionNanoseconds, digits: 2)
        r["thp"] = run.thp
        r["arena_hugepages"] = run.arenaHugePages ? "on" : "off"
        if let p = run.preflight {
            r["preflight"] = p.verdict
            r["preflight_other_cpu_pct"] = number(p.load?.otherCPUPercent, digits: 1)
            r["preflight_steal_pct"] = number(p.load?.stealPercent, digits: 1)
            r["loadavg_1m"] = number(p.loadAverage, digits: 2)
        }
        if let d = m.disturbance {
            r["other_cpu_pct"] = number(d.otherCPUPercent, digits: 1)
            r["steal_pct"] = number(d.stealPercent, digits: 1)
            r["disturbed"] = d.isDisturbed ? "yes" : "no"
        }
        return r
    }
}

/// What every row of one run shares.
public struct RunInfo: Sendable {
    public let id: String
    public let timestamp: String
    public let environment: RunEnvironment
    public let timeBase: TimeBase
    /// The machine as the run found it (nil when no preflight ran, e.g. in tests).
    public var preflight: Preflight?
    /// Which of the run's processes measured these rows (1-based), and how many there were.
    public var process = 1
    public var processes = 1
    public var thp = Preflight.thpMode()
    public var arenaHugePages = TablePool.hugePages.load(ordering: .relaxed)

    public init(environment: RunEnvironment, timeBase: TimeBase, date: Date = Date()) {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'"
        timestamp = f.string(from: date)
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        id = "\(f.string(from: date))-\(environment.host)-\(getpid())"
        self.environment = environment
        self.timeBase = timeBase
    }

    /// results/runs/<UTC-timestamp>-<host>.csv
    public var defaultFileName: String {
        id.split(separator: "-").dropLast().joined(separator: "-") + ".csv"
    }
}
