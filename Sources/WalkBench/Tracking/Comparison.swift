/// Two sets of rows compared cell by cell and metric by metric, with the process as the unit.
///
/// For each cell in both, and each metric both sides have: the medians, the change, the Mann-Whitney U
/// test (two-sided) with Holm's correction over the cells of that metric, and the Hodges-Lehmann
/// shift with its 95 % interval. A change is a verdict only when it is large (threshold), unlikely
/// under no change (alpha, after correction) and above the noise floor; a cell too noisy or too
/// thinly sampled to tell gets no verdict rather than a guess. callgrind's counts are exact and
/// compared exactly.
public struct Comparison: Sendable {
    public struct Options: Sendable {
        /// Smallest relative change (percent) that can be a verdict.
        public var threshold = 5.0
        /// Largest corrected p-value that can be a verdict.
        public var alpha = 0.01
        /// Smallest absolute change of a time that can be a verdict, in nanoseconds.
        public var floorNanoseconds = 1.0
        /// Spread (robust CoV, percent) above which a cell is unstable.
        public var unstableThreshold = Spread.defaultThreshold
        /// Fewer samples (processes) than this on a side: no verdict.
        public var minimumSamples = 5
        /// The strategy overheads are measured against (ns_over_reference).
        public var reference = "none"
        public var allowEnvironmentMismatch = false
        public var metrics: [Metric] = Metric.all
        public init() {}
    }

    public enum Verdict: String, Sendable, CaseIterable {
        case same, faster, slower, better, worse, unstable
        case tooFewSamples = "too few samples"
        case onlyInA = "only in A"
        case onlyInB = "only in B"
        case incomparable
        case notGated = "not gated"

        /// A change in the bad direction.
        public var isRegression: Bool { self == .slower || self == .worse }
        /// Any verdict that says what happened (as opposed to why nothing can be said).
        public var isDecided: Bool { [.same, .faster, .slower, .better, .worse].contains(self) }
    }

    public struct Side: Sendable {
        public var median: Double
        public var spreadPercent: Double?
        public var samples: Int
    }

    public struct Entry: Sendable {
        public var cell: CellKey
        /// nil for entries about the whole cell (only in A/B, incomparable).
        public var metric: Metric?
        public var a: Side?
        public var b: Side?
        /// (b - a) / a in percent; for ns_over_reference, relative to the reference strategy's cost.
        public var changePercent: Double?
        /// What the change is relative to: A's median, or for ns_over_reference the reference's cost.
        public var base: Double?
        /// The Hodges-Lehmann shift and its 95 % interval, in the metric's unit.
        public var shift: RankStatistics.Shift?
        public var p: Double?
        public var pAdjusted: Double?
        public var verdict: Verdict
        public var note: String?
        /// Whether this entry's metric gates (`bench check`): only gated regressions fail a check.
        public var gated: Bool
    }

    public var entries: [Entry] = []
    /// Fingerprint and revision differences between the two sides, for the top of the report.
    public var environmentNotes: [String] = []
    public var gitRevisionsA: [String] = []
    public var gitRevisionsB: [String] = []
    /// Use-after-free in a strategy that promises safety, on side B: always a failure.
    public var safetyFailures: [String] = []

    public init(a: [ResultRow], b: [ResultRow], options: Options = Options(), gate: [Metric]? = nil) {
        gitRevisionsA = Array(Set(a.compactMap { $0["git_rev"] })).sorted()
        gitRevisionsB = Array(Set(b.compactMap { $0["git_rev"] })).sorted()
        let cellsA = groupCells(a), cellsB = groupCells(b)
        var byKeyA: [CellKey: CellSamples] = [:], byKeyB: [CellKey: CellSamples] = [:]
        for c in cellsA { byKeyA[c.key] = c }
        for c in cellsB { byKeyB[c.key] = c }
        let gateNames = Set((gate ?? options.metrics).map(\.name))

        let fpA = Set(cellsA.map(\.fingerprint)), fpB = Set(cellsB.map(\.fingerprint))
        if fpA != fpB, let x = fpA.first, let y = fpB.first {
            environmentNotes.append("environments differ: " + x.differences(from: y).joined(separator: "; ")
                                    + (options.allowEnvironmentMismatch ? " (compared anyway: --allow-env-mismatch)" : ""))
        }

        let workA = Set(a.compactMap { $0["extra_work"] }), workB = Set(b.compactMap { $0["extra_work"] })
        if workA != workB {
            environmentNotes.append("--extra-work differs: A \(workA.sorted().joined(separator: ",")), B \(workB.sorted().joined(separator: ","))")
        }
        let safe = Set(Strategies.all.filter(\.guaranteesSafety).map(\.name))
        for r in b where safe.contains(r["strategy"] ?? "") {
            if let u = r["uaf_detected"].flatMap(UInt64.init), u > 0 {
                safetyFailures.append("\(CellKey(r).label): \(r["strategy"]!) promises safety and the oracle saw \(u) use-after-free walks (process \(r["process"] ?? "1"), repetition \(r["repetition"] ?? "?"))")
            }
        }

        var keys = cellsA.map(\.key)
        for c in cellsB where byKeyA[c.key] == nil { keys.append(c.key) }
        // Per metric, the indices of entries that were tested, for Holm's correction.
        var tested: [String: [Int]] = [:]
        for key in keys {
            guard let ca = byKeyA[key] else {
                entries.append(Entry(cell: key, verdict: .onlyInB, gated: false))
                continue
            }
            guard let cb = byKeyB[key] else {
                entries.append(Entry(cell: key, verdict: .onlyInA, gated: false))
                continue
            }
            if ca.fingerprint != cb.fingerprint && !options.allowEnvironmentMismatch {
                entries.append(Entry(cell: key, verdict: .incomparable, note: ca.fingerprint.differences(from: cb.fingerprint).joined(separator: "; "), gated: false))
                continue
            }
            if ca.revisions != cb.revisions {
                let what = zip(CellKey.revisionColumns, zip(ca.revisions, cb.revisions)).compactMap { c, v in v.0 == v.1 ? nil : "\(c) \(v.0) ≠ \(v.1)" }
                entries.append(Entry(cell: key, verdict: .incomparable, note: what.joined(separator: "; ") + ": the mechanism changed meaning", gated: false))
                continue
            }
            for metric in options.metrics {
                guard var e = compare(metric, ca, cb, byKeyA, byKeyB, options) else { continue }
                e.gated = gateNames.contains(metric.name)
                if e.p != nil { tested[metric.name, default: []].append(entries.count) }
                entries.append(e)
            }
        }

        // Holm over the cells of each metric, then the verdicts that needed it.
        for (_, indices) in tested {
            let adjusted = RankStatistics.holm(indices.map { entries[$0].p! })
            for (i, pa) in zip(indices, adjusted) {
                entries[i].pAdjusted = pa
                let (verdict, note) = decide(entries[i], options)
                entries[i].verdict = verdict
                if let note { entries[i].note = note }
            }
        }
    }

    /// A change is a verdict when it is significant, at least the threshold and above the floor.
    /// Otherwise the cell is `same` when both sides' spreads are under the unstable threshold, or when
    /// the shift's 95 % interval lies inside ±threshold (or ±floor): enough processes make even a noisy
    /// cell's median precise. A noisy cell whose interval reaches past the threshold is `unstable`.
    private func decide(_ e: Entry, _ options: Options) -> (Verdict, String?) {
        guard let metric = e.metric, let pa = e.pAdjusted, let change = e.changePercent, let shift = e.shift else { return (.same, nil) }
        let floor = metric.nanosecondsPerUnit.map { options.floorNanoseconds / $0 } ?? 0
        if pa < options.alpha, abs(change) >= options.threshold, abs(shift.estimate) >= floor {
            let up = shift.estimate > 0
            let worse = metric.polarity == .lowerIsBetter ? up : !up
            return (metric.kind == .timed ? (worse ? .slower : .faster) : (worse ? .worse : .better), nil)
        }
        let noisy = [("A", e.a), ("B", e.b)].compactMap { name, side in
            side?.spreadPercent.flatMap { $0 > options.unstableThreshold ? "\(name)'s spread \(ResultRow.number($0, digits: 1)!)%" : nil }
        }
        if noisy.isEmpty { return (.same, nil) }
        let margin = max(options.threshold / 100 * abs(e.base ?? 0), floor)
        if let lower = shift.lower, let upper = shift.upper, lower >= -margin, upper <= margin { return (.same, nil) }
        let reach = [shift.lower.map { -$0 }, shift.upper].compactMap { $0 }.max().map { " and the change's 95 % interval reaches ±\(ResultRow.number($0 / abs(e.base ?? 1) * 100, digits: 1)!)%" } ?? ""
        return (.unstable, noisy.joined(separator: ", ") + " > \(ResultRow.number(options.unstableThreshold, digits: 1)!)%" + reach)
    }

    private func compare(_ metric: Metric, _ ca: CellSamples, _ cb: CellSamples,
                         _ allA: [CellKey: CellSamples], _ allB: [CellKey: CellSamples], _ options: Options) -> Entry? {
        if metric.kind == .exact {
            // Every row of a scenario carries the scenario's one count; any row with it will do.
            guard let x = ca.rows.lazy.compactMap({ metric.value($0) }).first,
                  let y = cb.rows.lazy.compactMap({ metric.value($0) }).first else { return nil }
            let change = x == 0 ? (y == 0 ? 0 : nil) : (y - x) / abs(x) * 100
            var e = Entry(cell: ca.key, metric: metric, a: Side(median: x, spreadPercent: 0, samples: 1),
                          b: Side(median: y, spreadPercent: 0, samples: 1), changePercent: change,
                          shift: RankStatistics.Shift(estimate: y - x, lower: y - x, upper: y - x),
                          verdict: .same, gated: false)
            if x != y { e.verdict = (y > x) == (metric.polarity == .lowerIsBetter) ? .worse : .better }
            return e
        }
        var sa: [Double], sb: [Double]
        var scale: Double?  // what the change is relative to
        if metric == .nsOverReference {
            let strategy = ca.key.value("strategy")
            guard strategy != options.reference,
                  let refA = allA[ca.key.with(strategy: options.reference, lazyTLB: "n/a")],
                  let refB = allB[cb.key.with(strategy: options.reference, lazyTLB: "n/a")] else { return nil }
            sa = Self.paired(ca, refA)
            sb = Self.paired(cb, refB)
            scale = RankStatistics.median(refA.samples(.nsPerWalkMean))
        } else {
            sa = ca.samples(metric)
            sb = cb.samples(metric)
        }
        // A metric neither side has does not apply to this cell (writer latency without writers); one
        // that only disturbed repetitions have gets no verdict, and says so.
        let hasA = ca.rows.contains { metric == .nsOverReference ? Metric.nsPerWalkMean.value($0) != nil : metric.value($0) != nil }
        let hasB = cb.rows.contains { metric == .nsOverReference ? Metric.nsPerWalkMean.value($0) != nil : metric.value($0) != nil }
        guard hasA, hasB else { return nil }
        guard !sa.isEmpty, !sb.isEmpty else {
            return Entry(cell: ca.key, metric: metric, verdict: .unstable,
                         note: "every repetition of \(sa.isEmpty ? "A" : "B") ran beside other busy processes", gated: false)
        }
        let ma = RankStatistics.median(sa)!, mb = RankStatistics.median(sb)!
        func spread(_ s: [Double], _ m: Double) -> Double? {
            guard let scale else { return Spread.percent(s) }
            guard s.count >= 2, scale != 0, let mad = RankStatistics.median(s.map { abs($0 - m) }) else { return nil }
            return 1.4826 * mad / abs(scale) * 100
        }
        let base = scale ?? ma
        var e = Entry(cell: ca.key, metric: metric,
                      a: Side(median: ma, spreadPercent: spread(sa, ma), samples: sa.count),
                      b: Side(median: mb, spreadPercent: spread(sb, mb), samples: sb.count),
                      changePercent: base == 0 ? nil : (mb - ma) / abs(base) * 100, base: base, verdict: .same, gated: false)
        if sa.count < options.minimumSamples || sb.count < options.minimumSamples {
            e.verdict = .tooFewSamples
            e.note = "\(sa.count) vs \(sb.count) processes; at least \(options.minimumSamples) a side"
            return e
        }
        let disturbedA = Double(ca.disturbedRows) / Double(ca.rows.count), disturbedB = Double(cb.disturbedRows) / Double(cb.rows.count)
        if ca.startedBusy || cb.startedBusy {
            e.verdict = .unstable
            e.note = "\(ca.startedBusy ? "A" : "B") started on a busy machine (preflight)"
            return e
        }
        if disturbedA > 0.5 || disturbedB > 0.5 {
            e.verdict = .unstable
            e.note = "most repetitions ran beside other busy processes"
            return e
        }
        e.p = RankStatistics.mannWhitney(sa, sb)?.p
        e.shift = RankStatistics.hodgesLehmann(sa, sb)
        return e
    }

    /// The cell's ns/walk minus the reference strategy's, process by process (the pairs share a process).
    static func paired(_ cell: CellSamples, _ ref: CellSamples) -> [Double] {
        let mine = cell.samplesByProcess(.nsPerWalkMean), theirs = ref.samplesByProcess(.nsPerWalkMean)
        return cell.processes.compactMap { p in mine[p].flatMap { m in theirs[p].map { m - $0 } } }
    }

    /// Entries that carry a verdict about a gated metric.
    public var gatedEntries: [Entry] { entries.filter { $0.gated } }
    public var regressions: [Entry] { gatedEntries.filter { $0.verdict.isRegression } }
}

/// What `bench check` concludes from a comparison, and its exit status.
public struct CheckOutcome: Sendable {
    public static let noRegression: Int32 = 0
    public static let regression: Int32 = 1
    public static let badInput: Int32 = 2
    public static let nothingComparable: Int32 = 3
    /// `git bisect run` skips a commit whose script exits 125.
    public static let bisectSkip: Int32 = 125

    public let status: Int32
    public let reason: String

    public init(_ c: Comparison, bisect: Bool) {
        let decided = c.gatedEntries.filter { $0.verdict.isDecided }
        if !c.safetyFailures.isEmpty {
            status = Self.regression
            reason = "\(c.safetyFailures.count) use-after-free in strategies that promise safety"
        } else if !c.regressions.isEmpty {
            status = Self.regression
            reason = "\(c.regressions.count) regression\(c.regressions.count == 1 ? "" : "s"): "
                + c.regressions.prefix(5).map { "\($0.cell.label) \($0.metric!.name) \(ComparisonReport.change($0))" }.joined(separator: "; ")
                + (c.regressions.count > 5 ? "; ..." : "")
        } else if decided.isEmpty {
            status = bisect ? Self.bisectSkip : Self.nothingComparable
            let why = Dictionary(grouping: c.gatedEntries.isEmpty ? c.entries : c.gatedEntries, by: \.verdict)
                .map { "\($0.value.count) \($0.key.rawValue)" }.sorted().joined(separator: ", ")
            reason = "nothing comparable" + (why.isEmpty ? ": no cells" : ": \(why)")
        } else {
            status = Self.noRegression
            let undecided = c.gatedEntries.count - decided.count
            reason = "no regression in \(decided.count) gated comparison\(decided.count == 1 ? "" : "s")"
                + (undecided > 0 ? " (\(undecided) without a verdict: unstable, too few samples or incomparable)" : "")
        }
    }
}
