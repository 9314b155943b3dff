/// The table `bench run` prints on stdout.
///
/// Layout: the dimension being compared goes in the columns, so neighbours read against each other.
/// It is the first of strategies, walkers (a callback walker once per dispatch kind: `callback/c-retpoline`),
/// and thread counts (`r1 w0`, `r2 w0`) that has more than one value among the rows. One block per value
/// of everything else (geometry, workload, and the strategy or walker that is not in the columns); inside
/// a block, one group of lines per readers × writers unless the threads are the columns.
///
/// Every line says which statistic it shows (a batch mean, a percentile, a count per operation), and
/// every figure is the median over processes of each process's median over its undisturbed repetitions.
/// Beside the ratio to the reference column is the time added over it, in ns: a ratio hides whether a
/// strategy adds 2 ns or 200.
public enum Summary {
    public static func render(_ rows: [ResultRow], reference: String?, threshold: Double = Spread.defaultThreshold) -> String {
        guard !rows.isEmpty else { return "" }
        var cells: [CellKey: CellSamples] = [:]
        for c in groupCells(rows) { cells[c.key] = c }
        let columns = Dimension.compared(in: rows)
        var out = ""
        for block in group(rows, by: columns.blockKey) {
            out += header(block, columns: columns)
            var labels: [String] = []
            for r in block where !labels.contains(columns.label(r)) { labels.append(columns.label(r)) }
            // The reference column: --reference when it names one (strategies), else the first.
            let ref = reference.flatMap { labels.contains($0) ? $0 : nil } ?? labels[0]
            var table: [[String]] = [["", ""] + labels]
            let lines = columns == .threads ? [block] : group(block, by: { Dimension.threads.label($0) })
            for line in lines {
                let lead = columns == .threads ? "" : Dimension.threads.label(line[0])
                table += Lines(rows: line, labels: labels, reference: ref, columns: columns, cells: cells, threshold: threshold)
                    .render(lead: lead)
            }
            out += align(table)
        }
        return out
    }

    /// What varies across the columns of the table.
    enum Dimension: Equatable {
        case strategy, walker, threads

        /// The first dimension with more than one value among `rows` (strategies when none varies).
        static func compared(in rows: [ResultRow]) -> Dimension {
            for d in [Dimension.strategy, .walker, .threads] where Set(rows.map(d.label)).count > 1 { return d }
            return .strategy
        }

        /// A row's value in this dimension, as the column heading shows it.
        func label(_ r: ResultRow) -> String {
            switch self {
            case .strategy: return Summary.strategyLabel(r)
            case .walker:
                let d = r["dispatch"] ?? Dispatch.none
                return d == Dispatch.none ? r["walker"]! : "\(r["walker"]!)/\(d)"
            case .threads: return "r\(r["readers"]!) w\(r["writers"]!)"
            }
        }

        /// The rows that share a block: same geometry and workload, and the same value in every other
        /// dimension but the threads (those are lines inside the block).
        func blockKey(_ r: ResultRow) -> String {
            var parts = [r["geometry"] ?? "", r["workload"] ?? ""]
            if self != .strategy { parts.append(Dimension.strategy.label(r)) }
            if self != .walker { parts.append(Dimension.walker.label(r)) }
            if self == .threads { parts.append("") }
            return parts.joined(separator: "\u{1F}")
        }
    }

    /// A block's heading: what is fixed in it, and which statistic its figures are.
    static func header(_ block: [ResultRow], columns: Dimension) -> String {
        let first = block[0]
        let reps = Set(block.map { $0["repetition"]! }).count
        let procs = Set(block.map { $0["process"] ?? "1" }).count
        let over = procs > 1 ? "median over \(procs) processes of each one's median of \(reps) repetition\(reps == 1 ? "" : "s")"
                             : "median of \(reps) repetition\(reps == 1 ? "" : "s")"
        var fixed = [first["workload"]!]
        if columns != .strategy { fixed.append("strategy \(Dimension.strategy.label(first))") }
        if columns != .walker { fixed.append("walker \(Dimension.walker.label(first))") }
        fixed.append(first["geometry"]!)
        if first["oracle"] == "off" { fixed.append("no oracle") }
        if first["take_ref"] == "off" { fixed.append("no page ref") }
        return "\n== " + fixed.joined(separator: " · ") + " · \(over) · ± robust CoV, ! unstable\n"
    }

    /// The lines of one readers × writers group (or of the whole block when threads are the columns).
    struct Lines {
        let rows: [ResultRow]
        let labels: [String]
        let reference: String
        let columns: Dimension
        let cells: [CellKey: CellSamples]
        let threshold: Double

        /// The rows of each column, in column order (empty where a column has no cell here).
        var perColumn: [[ResultRow]] { labels.map { l in rows.filter { columns.label($0) == l } } }

        /// The median over processes of a metric (each process's median of its undisturbed repetitions),
        /// or over undisturbed repetitions with one process. When every repetition of the cell was
        /// disturbed (a busy machine), the same over all of them: the cell is then marked unstable ("!"),
        /// which says more than a "-".
        func median(_ rs: [ResultRow], _ metric: Metric) -> Double? {
            guard let f = rs.first, let c = cells[CellKey(f)] else { return nil }
            let undisturbed = c.processes.count > 1 ? c.samples(metric)
                                                    : rs.filter { $0["disturbed"] != "yes" }.compactMap { metric.value($0) }
            if let m = Statistics.median(undisturbed) { return m }
            let perProcess = Summary.group(rs, by: { $0["process"] ?? "1" }).compactMap { p in
                Statistics.median(p.compactMap { metric.value($0) })
            }
            return Statistics.median(perProcess)
        }

        /// The median with its spread, "!" when the cell is unstable in that metric.
        func withSpread(_ rs: [ResultRow], _ metric: Metric) -> String {
            guard let f = rs.first, let c = cells[CellKey(f)], let m = median(rs, metric) else { return "-" }
            let st = Stability(c, metric, threshold: threshold)
            let spread = st.spreadPercent.map { " ±" + ResultRow.number($0, digits: $0 < 10 ? 1 : 0)! + "%" } ?? ""
            return fmt(m) + spread + (st.unstable ? "!" : "")
        }

        func pair(_ rs: [ResultRow], _ a: Metric, _ b: Metric) -> String {
            guard let x = median(rs, a), let y = median(rs, b) else { return "-" }
            return "\(fmt(x)) / \(fmt(y))"
        }

        /// Ratio to the reference column and the difference from it, for one metric.
        func againstReference(_ metric: Metric, unit: String) -> [[String]] {
            let values = perColumn.map { median($0, metric) }
            guard let refIndex = labels.firstIndex(of: reference), let refValue = values[refIndex], refValue > 0 else { return [] }
            return [
                ["", "×\(reference)"] + values.map { v in v.map { ResultRow.number($0 / refValue, digits: 2)! } ?? "-" },
                ["", "\(unit) over \(reference)"] + values.map { v in v.map { signed($0 - refValue) } ?? "-" },
            ]
        }

        func render(lead: String) -> [[String]] {
            let cols = perColumn
            var t: [[String]] = [[lead, "ns/walk mean"] + cols.map { withSpread($0, .nsPerWalkMean) }]
            t += againstReference(.nsPerWalkMean, unit: "+ns/walk")
            t.append(["", "ns/walk p50 / p99"] + cols.map { pair($0, .nsPerWalkP50, Summary.nsPerWalkP99) })
            // Range walkers: per page found, which compares walkers and dispatch kinds per entry. The
            // callback walker calls pte_entry once per pte, so on a dense mapping the difference per leaf
            // is the difference per hook call (a retpoline's cost per call, read directly).
            if rows.contains(where: { $0["walker"] != LookupWalker.name && $0["walker"] != "lookup-c" }) {
                t.append(["", "ns/leaf mean"] + cols.map { median($0, Summary.nsPerLeafMean).map(fmt) ?? "-" })
                t += againstReference(Summary.nsPerLeafMean, unit: "+ns/leaf").dropFirst()
                t.append(["", "leaves/walk"] + cols.map { rs in
                    Statistics.median(rs.compactMap { r in
                        guard let l = Metric.number(r, "leaves"), let w = Metric.number(r, "walks"), w > 0 else { return nil }
                        return l / w
                    }).map(fmt) ?? "-"
                })
            }
            // With writers: what the workload is about, the writer's side.
            if rows.contains(where: { ($0["writers"] ?? "0") != "0" }) {
                t.append(["", "free wait µs p50 / p99"] + cols.map { pair($0, .writerWaitP50, .writerWaitP99) })
                t.append(["", "writer op µs p50 / p99"] + cols.map { pair($0, .writerLatencyP50, .writerLatencyP99) })
                if rows.contains(where: { !($0["grace_period_us_p50"] ?? "").isEmpty }) {
                    t.append(["", "grace period µs p50"] + cols.map { median($0, .gracePeriodP50).map(fmt) ?? "-" })
                }
                t.append(["", "IPIs/op"] + cols.map { rs in
                    rs.allSatisfy({ ($0["ipis_sent"] ?? "").isEmpty }) ? "-" : median(rs, .ipisPerOp).map(fmt) ?? "-"
                })
                if rows.contains(where: { !($0["ipis_skipped_lazy"] ?? "").isEmpty }) {
                    t.append(["", "skipped lazy/op"] + cols.map { median($0, Summary.skippedLazyPerOp).map(fmt) ?? "-" })
                }
                t.append(["", "pending KiB peak"] + cols.map { median($0, .bytesPendingPeak).map { fmt($0 / 1024) } ?? "-" })
            }
            t.append(["", "uaf (sum)"] + cols.map { rs in
                let counts = rs.compactMap { $0["uaf_detected"].flatMap { UInt64($0) } }
                return counts.count == rs.count && !rs.isEmpty ? String(counts.reduce(0, +)) : "-"
            })
            return t
        }
    }

    static let nsPerWalkP99 = Metric.timed("ns_per_walk_p99", "ns")
    static let nsPerLeafMean = Metric.timed("ns_per_leaf_mean", "ns")
    static let skippedLazyPerOp = Metric(name: "ipis_skipped_lazy_per_op", unit: "IPIs", polarity: .lowerIsBetter,
                                         kind: .counted, source: .perWriterOp("ipis_skipped_lazy"))

    /// One line when the rows' builds and this machine's spectre_v2 mitigation disagree, so a retpoline
    /// row is not read as this machine's cost (or a plain indirect call as this kernel's).
    public static func mitigationNote(_ rows: [ResultRow], spectreV2: String) -> String? {
        let dispatches = Set(rows.compactMap { $0["dispatch"] })
        let retpolineRows = dispatches.contains("c-retpoline") || dispatches.contains("promoted")
        let kernelUsesRetpolines = spectreV2.contains("Retpoline")
        if retpolineRows && !kernelUsesRetpolines {
            return "note: the c-retpoline/promoted rows are a -mretpoline build, but this CPU's spectre_v2 mitigation is \"\(spectreV2)\": its kernel calls indirectly without a thunk; read those rows as the thunk's cost, not this machine's"
        }
        if dispatches.contains("c-indirect") && kernelUsesRetpolines {
            return "note: this kernel mitigates spectre_v2 with retpolines (\"\(spectreV2)\"): its indirect calls cost what the c-retpoline rows show; c-indirect is the unmitigated call"
        }
        return nil
    }

    /// One line when cells were unstable or the run was disturbed, so nobody reads a ranking into noise.
    public static func stabilityNote(_ rows: [ResultRow], cells grouped: [CellSamples]? = nil) -> String? {
        let cells = grouped ?? groupCells(rows)
        let unstable = cells.filter { $0.rows.first?["unstable"] == "yes" }.count
        let disturbed = rows.filter { $0["disturbed"] == "yes" }.count
        guard unstable > 0 || disturbed > 0 else { return nil }
        var parts: [String] = []
        if unstable > 0 { parts.append("\(unstable) of \(cells.count) cells unstable (marked !): do not rank them") }
        if disturbed > 0 { parts.append("\(disturbed) of \(rows.count) repetitions ran while other processes used over \(Int(Disturbance.otherCPULimit))% of the CPUs or the hypervisor stole over \(Int(Disturbance.stealLimit))% (left out of medians and comparisons)") }
        return "note: " + parts.joined(separator: "; ")
    }

    /// Rows grouped by a key, groups in order of first appearance.
    static func group(_ rows: [ResultRow], by key: (ResultRow) -> String) -> [[ResultRow]] {
        var order: [String] = []
        var groups: [String: [ResultRow]] = [:]
        for r in rows {
            let k = key(r)
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(r)
        }
        return order.map { groups[$0]! }
    }

    /// A strategy's name in the table: with its lazy-TLB mode where that is not off.
    static func strategyLabel(_ r: ResultRow) -> String {
        let lazy = r["lazy_tlb"] ?? "n/a"
        return lazy == "n/a" || lazy == LazyTLB.off.rawValue ? r["strategy"]! : "\(r["strategy"]!) lazy-tlb=\(lazy)"
    }

    static func fmt(_ v: Double) -> String {
        let a = abs(v)
        if a < 1 { return ResultRow.number(v, digits: 3)! }
        if a >= 100 { return ResultRow.number(v, digits: 0)! }
        if a >= 10 { return ResultRow.number(v, digits: 1)! }
        return ResultRow.number(v, digits: 2)!
    }

    /// A difference with its sign: "+19.0", "-0.21", "0".
    static func signed(_ v: Double) -> String {
        let s = fmt(v)
        return v > 0 && s != "0" ? "+" + s : s
    }

    static func align(_ table: [[String]]) -> String {
        let widths = (0..<table[0].count).map { c in table.map { $0[c].count }.max()! }
        return table.map { row in
            row.enumerated().map { i, cell in
                // Names left, numbers right.
                i < 2 ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                      : String(repeating: " ", count: widths[i] - cell.count) + cell
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n") + "\n"
    }
}
