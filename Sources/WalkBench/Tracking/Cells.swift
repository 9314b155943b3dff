/// One cell of the matrix as rows identify it: every scenario parameter, so two rows match only when
/// they measured the same thing. The revisions are kept apart: a cell whose strategy, walker or
/// workload changed meaning is found, then declared incomparable. `extra_work` is not part of it: it
/// stands for a change to the code under test, which is what a comparison is for.
public struct CellKey: Sendable, Hashable, Comparable {
    /// The columns that name a cell, in the order labels show them.
    public static let columns = [
        "geometry", "workload", "strategy", "walker", "dispatch", "readers", "writers", "lazy_tlb", "oracle", "take_ref",
        "span_bytes", "mapped_bytes", "density", "huge_fraction", "writer_delay_ns", "reader_idle_ns", "batch", "seed",
        "window_delay_ns", "batch_fail_rate", "foreign_walkers", "lazy_walkers", "cpumask_trim_ms", "pt_reclaim", "pte_folio_order",
    ]
    public static let revisionColumns = ["strategy_rev", "walker_rev", "workload_rev"]

    public let values: [String]

    static let slots = columns.map { Columns.slot[$0]! }

    public init(_ row: ResultRow) { values = Self.slots.map { row.value(slot: $0) ?? "" } }
    init(values: [String]) { self.values = values }

    public func value(_ column: String) -> String { values[Self.columns.firstIndex(of: column)!] }

    /// The same cell with another strategy (for the overhead over the reference strategy).
    public func with(strategy: String, lazyTLB: String) -> CellKey {
        var v = values
        v[Self.columns.firstIndex(of: "strategy")!] = strategy
        v[Self.columns.firstIndex(of: "lazy_tlb")!] = lazyTLB
        v[Self.columns.firstIndex(of: "cpumask_trim_ms")!] = ""
        v[Self.columns.firstIndex(of: "pt_reclaim")!] = ""
        return CellKey(values: v)
    }

    /// Short and readable: what differs from the suite's usual settings is shown, the rest is implied.
    public var label: String {
        var s = "\(value("workload")) \(value("strategy"))"
        let lazy = value("lazy_tlb")
        if lazy != "n/a" && lazy != "off" { s += " lazy-tlb=\(lazy)" }
        if value("pt_reclaim") == "on" { s += " pt-reclaim" }
        s += " \(value("walker"))"
        if value("dispatch") != "n/a" { s += "/\(value("dispatch"))" }
        s += " r\(value("readers")) w\(value("writers"))"
        if value("geometry") != "x86-64-4l" { s += " \(value("geometry"))" }
        if value("oracle") == "off" { s += " no-oracle" }
        if value("take_ref") == "off" { s += " no-ref" }
        if value("take_ref") == "pin" { s += " foll-pin" }
        return s
    }

    public static func < (a: CellKey, b: CellKey) -> Bool { a.values.lexicographicallyPrecedes(b.values) }
}

/// The environment that makes two rows' numbers comparable at all: the same CPU, as many of them, the
/// same kernel and mitigation, the same compiler and build configuration. (The host name and the git
/// revision are not in it: a baseline is for a kind of machine, and comparing revisions is the point.)
public struct Fingerprint: Sendable, Hashable, CustomStringConvertible {
    public static let columns = ["cpu_model", "logical_cpus", "kernel", "spectre_v2", "toolchain", "build"]
    public let values: [String]

    static let slots = columns.map { Columns.slot[$0]! }

    public init(_ row: ResultRow) { values = Self.slots.map { row.value(slot: $0) ?? "" } }
    public init(_ env: RunEnvironment) {
        values = [env.cpuModel, String(env.logicalCPUs), env.kernel, env.spectreV2, env.toolchain, env.build]
    }

    /// A file-name-safe id: a readable prefix and a hash of every field.
    public var id: String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a, 64 bits: stable across runs and builds (Hasher is not)
        for b in values.joined(separator: "\u{1F}").utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        let cpus = values[1]
        let build = values[5]
        return "\(cpus)cpu-\(build)-" + String(h, radix: 16).leftPadded(to: 16)
    }

    public var description: String { zip(Self.columns, values).map { "\($0)=\($1)" }.joined(separator: ", ") }

    /// The fields that differ from `other`, as "name: a ≠ b".
    public func differences(from other: Fingerprint) -> [String] {
        zip(Self.columns, zip(values, other.values)).compactMap { c, v in v.0 == v.1 ? nil : "\(c): \(v.0) ≠ \(v.1)" }
    }
}

extension String {
    func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}

/// A cell's measurements, one sample per process: the median over that process's repetitions (they
/// share a process's layout and luck, so they are not independent samples). Repetitions that ran
/// while other processes took more than their share of the CPUs are left out; a process with none left
/// gives no sample.
public struct CellSamples: Sendable {
    public let key: CellKey
    public let fingerprint: Fingerprint
    public let revisions: [String]
    public let rows: [ResultRow]
    /// (run_id, process) of each sample, in order.
    public let processes: [String]
    /// The undisturbed rows of each process, parallel to `processes`.
    let undisturbed: [[ResultRow]]
    public let disturbedRows: Int
    /// Whether a run these rows came from found the machine busy before it started (its preflight).
    public let startedBusy: Bool

    public init(key: CellKey, rows: [ResultRow]) {
        self.key = key
        self.rows = rows
        fingerprint = Fingerprint(rows[0])
        revisions = CellKey.revisionColumns.map { rows[0][$0] ?? "" }
        var order: [String] = []
        var groups: [String: [ResultRow]] = [:]
        var disturbed = 0
        for r in rows {
            let p = Self.processID(r)
            if groups[p] == nil {
                order.append(p)
                groups[p] = []
            }
            if r["disturbed"] == "yes" { disturbed += 1 } else { groups[p]!.append(r) }
        }
        processes = order
        undisturbed = order.map { groups[$0]! }
        disturbedRows = disturbed
        // A busy machine at the start usually stays busy, and a repetition's own reading can miss it
        // (a competitor that gets few time slices in 80 ms still changes lock and cache behaviour).
        startedBusy = rows.contains { r in
            Disturbance(otherCPUPercent: Double(r["preflight_other_cpu_pct"] ?? "") ?? 0,
                        stealPercent: Double(r["preflight_steal_pct"] ?? "") ?? 0, ticks: .max).isDisturbed
        }
        // Every metric's per-process medians, once: comparisons ask for them again and again.
        var cache: [Metric: [Double?]] = [:]
        for m in Metric.all where m != .nsOverReference {
            cache[m] = undisturbed.map { rs in RankStatistics.median(rs.compactMap { m.value($0) }) }
        }
        perProcess = cache
    }

    /// Per metric, the median of each process's undisturbed repetitions (nil: none had the metric).
    private let perProcess: [Metric: [Double?]]

    static func processID(_ r: ResultRow) -> String { "\(r["run_id"] ?? "")#\(r["process"] ?? "1")" }

    /// One value per process with an undisturbed repetition that has the metric.
    public func samples(_ metric: Metric) -> [Double] {
        if let cached = perProcess[metric] { return cached.compactMap { $0 } }
        return undisturbed.compactMap { rs in RankStatistics.median(rs.compactMap { metric.value($0) }) }
    }

    /// The same, keyed by process (for pairing with the reference strategy's samples).
    func samplesByProcess(_ metric: Metric) -> [String: Double] {
        let values = perProcess[metric] ?? undisturbed.map { rs in RankStatistics.median(rs.compactMap { metric.value($0) }) }
        var out: [String: Double] = [:]
        for (p, v) in zip(processes, values) where v != nil { out[p] = v }
        return out
    }
}

/// How widely a cell's samples scatter, as one number: the robust coefficient of variation, 1.4826 ×
/// the median absolute deviation over the median, in percent. Robust because one preempted process
/// should not hide an otherwise tight cell, and one number because the summary, the CSV and `bench
/// compare` must agree on what "unstable" means.
public enum Spread {
    /// Above this a cell is unstable (`--unstable-threshold`).
    public static let defaultThreshold = 5.0

    public static func percent(_ samples: [Double]) -> Double? {
        guard samples.count >= 2, let m = RankStatistics.median(samples), m != 0 else { return nil }
        guard let mad = RankStatistics.median(samples.map { abs($0 - m) }) else { return nil }
        return 1.4826 * mad / abs(m) * 100
    }

    /// The samples a cell's spread is taken over: one per process when there are several, else the
    /// repetitions of its one process (all undisturbed ones).
    public static func samples(_ cell: CellSamples, _ metric: Metric) -> [Double] {
        if cell.processes.count > 1 { return cell.samples(metric) }
        return cell.rows.filter { $0["disturbed"] != "yes" }.compactMap { metric.value($0) }
    }
}

/// Rows grouped into cells, in order of first appearance.
public func groupCells(_ rows: [ResultRow]) -> [CellSamples] {
    var order: [CellKey] = []
    var groups: [CellKey: [ResultRow]] = [:]
    for r in rows {
        let k = CellKey(r)
        if groups[k] == nil { order.append(k) }
        groups[k, default: []].append(r)
    }
    return order.map { CellSamples(key: $0, rows: groups[$0]!) }
}

/// Whether a cell's numbers can carry a verdict, by the one rule the summary, the CSV and `bench
/// compare` share: its spread is within the threshold, and at most half its repetitions were disturbed.
public struct Stability: Sendable, Equatable {
    public var spreadPercent: Double?
    public var disturbedFraction: Double
    public var unstable: Bool
    public var reason: String?

    public init(_ cell: CellSamples, _ metric: Metric, threshold: Double = Spread.defaultThreshold) {
        spreadPercent = Spread.percent(Spread.samples(cell, metric))
        disturbedFraction = Double(cell.disturbedRows) / Double(max(cell.rows.count, 1))
        if cell.startedBusy {
            unstable = true
            reason = "the run started on a busy machine (preflight)"
        } else if disturbedFraction > 0.5 {
            unstable = true
            reason = "\(cell.disturbedRows) of \(cell.rows.count) repetitions disturbed by other processes"
        } else if let s = spreadPercent, s > threshold {
            unstable = true
            reason = "spread \(ResultRow.number(s, digits: 1)!)% > \(ResultRow.number(threshold, digits: 1)!)%"
        } else {
            unstable = false
            reason = nil
        }
    }
}

/// Fills each row's `cell_spread_pct` and `unstable` from its cell (ns/walk, batch mean).
public func annotateStability(_ rows: inout [ResultRow], threshold: Double = Spread.defaultThreshold) {
    var byKey: [CellKey: Stability] = [:]
    for cell in groupCells(rows) { byKey[cell.key] = Stability(cell, .nsPerWalkMean, threshold: threshold) }
    for i in rows.indices {
        guard let st = byKey[CellKey(rows[i])] else { continue }
        rows[i]["cell_spread_pct"] = ResultRow.number(st.spreadPercent, digits: 2)
        rows[i]["unstable"] = st.unstable ? "yes" : "no"
    }
}
