/// A quantity a comparison looks at: the CSV column it comes from, its unit, and which direction is
/// better. Comparisons, checks and the run summary read these, never column names of their own.
public struct Metric: Sendable, Hashable {
    public enum Polarity: String, Sendable { case lowerIsBetter, higherIsBetter }
    public enum Kind: Sendable, Hashable {
        /// Measured on a wall clock: noisy, compared with statistics over processes.
        case timed
        /// A count the run measured (IPIs per op, bytes): noisy too, compared the same way.
        case counted
        /// callgrind's simulation: the same every run of the same build, compared exactly.
        case exact
    }

    public let name: String
    public let unit: String
    public let polarity: Polarity
    public let kind: Kind
    /// How a row yields the value: a column, or a column over writer operations.
    let source: Source

    enum Source: Sendable, Hashable {
        /// A column, with its schema position (nil: a counter's or callgrind's column).
        case column(String, Int?)
        case perWriterOp(String)
        /// ns_per_walk_mean minus the reference strategy's in the same process (filled by Samples).
        case overReference
    }

    /// Nanoseconds per unit, for the noise floor (given in ns); nil for metrics that are not times.
    public var nanosecondsPerUnit: Double? {
        switch unit {
        case "ns": return 1
        case "µs": return 1000
        default: return nil
        }
    }

    /// The word for a change in the bad direction ("slower" for times and throughput).
    public var worseWord: String { kind == .timed ? "slower" : "worse" }
    public var betterWord: String { kind == .timed ? "faster" : "better" }

    func value(_ row: ResultRow) -> Double? {
        switch source {
        case .column(let c, let slot):
            let text = slot.map { row.value(slot: $0) } ?? row.extra(c)
            return text.flatMap { Double($0) }.flatMap { $0.isFinite ? $0 : nil }
        case .perWriterOp(let c):
            guard let v = Self.number(row, c), let ops = Self.number(row, "writer_ops"), ops > 0 else { return nil }
            return v / ops
        case .overReference: return nil
        }
    }

    static func number(_ row: ResultRow, _ column: String) -> Double? {
        (row[column] ?? row.extra(column)).flatMap { Double($0) }.flatMap { $0.isFinite ? $0 : nil }
    }

    static func timed(_ column: String, _ unit: String) -> Metric {
        Metric(name: column, unit: unit, polarity: .lowerIsBetter, kind: .timed, source: .column(column, Columns.slot[column]))
    }

    public static let nsPerWalkMean = timed("ns_per_walk_mean", "ns")
    public static let nsPerWalkP50 = timed("ns_per_walk_p50", "ns")
    /// The strategy's own cost: its ns per walk minus the reference strategy's, measured in the same
    /// process minutes apart, which cancels most of the host's slow drift.
    public static let nsOverReference = Metric(name: "ns_over_reference", unit: "ns", polarity: .lowerIsBetter,
                                               kind: .timed, source: .overReference)
    public static let walksPerSecond = Metric(name: "walks_per_s", unit: "/s", polarity: .higherIsBetter, kind: .timed,
                                              source: .column("walks_per_s", Columns.slot["walks_per_s"]))
    public static let writerLatencyP50 = timed("writer_latency_us_p50", "µs")
    public static let writerLatencyP99 = timed("writer_latency_us_p99", "µs")
    public static let writerWaitP50 = timed("writer_wait_us_p50", "µs")
    public static let writerWaitP99 = timed("writer_wait_us_p99", "µs")
    public static let gracePeriodP50 = timed("grace_period_us_p50", "µs")
    public static let ipisPerOp = Metric(name: "ipis_per_op", unit: "IPIs", polarity: .lowerIsBetter, kind: .counted,
                                         source: .perWriterOp("ipis_sent"))
    public static let bytesPendingPeak = Metric(name: "bytes_pending_peak", unit: "B", polarity: .lowerIsBetter,
                                                kind: .counted, source: .column("bytes_pending_peak", Columns.slot["bytes_pending_peak"]))

    static func exact(_ column: String, _ unit: String) -> Metric {
        Metric(name: column, unit: unit, polarity: .lowerIsBetter, kind: .exact, source: .column(column, Columns.slot[column]))
    }

    public static let callgrind: [Metric] = [
        exact("cg_ir_per_walk", "Ir"), exact("cg_bcm_per_walk", "Bcm"), exact("cg_bim_per_walk", "Bim"),
        exact("cg_d1mr_per_walk", "D1mr"), exact("cg_llmr_per_walk", "DLmr"),
    ]

    /// Every metric `bench compare` reports, in its order.
    public static let all: [Metric] = [
        nsPerWalkMean, nsPerWalkP50, nsOverReference, walksPerSecond, writerLatencyP50, writerLatencyP99,
        writerWaitP50, writerWaitP99, gracePeriodP50, ipisPerOp, bytesPendingPeak,
    ] + callgrind

    /// What `bench check` gates on unless --metrics says otherwise. The batch mean, not the p50: a single
    /// timed walk is known only to the clock's step (10–10.6 ns on this suite's AMD guests), the batch mean
    /// to a 256th of it.
    public static let defaultGate: [Metric] = [nsPerWalkMean, nsOverReference, writerLatencyP50, callgrind[0]]

    public static func named(_ name: String) -> Metric? { all.first { $0.name == name } }
}
