/// The table `bench run` prints. One block per (geometry, workload, walker); strategies are columns.
/// For each readers × writers line: reader cost (median over repetitions of the mean ns per walk), its
/// ratio to the reference strategy, the writer's wait from retire to free (p50), and the oracle's count.
public enum Summary {
    public static func render(_ rows: [ResultRow], reference: String?, threshold: Double = Spread.defaultThreshold) -> String {
        var cells: [CellKey: CellSamples] = [:]
        for c in groupCells(rows) { cells[c.key] = c }
        /// The median over processes (each the median of its repetitions) with its spread, "!" when unstable.
        func cell(_ rs: [ResultRow], _ metric: Metric) -> String {
            guard let first = rs.first, let c = cells[CellKey(first)] else { return "-" }
            let samples = c.processes.count > 1 ? c.samples(metric) : rs.compactMap { metric.value($0) }
            guard let m = Statistics.median(samples) else { return "-" }
            let st = Stability(c, metric, threshold: threshold)
            let spread = st.spreadPercent.map { " ±" + ResultRow.number($0, digits: $0 < 10 ? 1 : 0)! + "%" } ?? ""
            return fmt(m) + spread + (st.unstable ? "!" : "")
        }
        var out = ""
        for block in group(rows, by: ["geometry", "workload", "walker", "dispatch"]) {
            var strategies: [String] = []
            for r in block where !strategies.contains(strategyLabel(r)) { strategies.append(strategyLabel(r)) }
            let ref = reference.flatMap { strategies.contains($0) ? $0 : nil } ?? strategies[0]
            let first = block[0]
            let reps = Set(block.map { $0["repetition"]! }).count
            let procs = Set(block.map { $0["process"] ?? "1" }).count
            let over = procs > 1 ? "median over \(procs) processes of the median of \(reps) repetition\(reps == 1 ? "" : "s")"
                                 : "median of \(reps) repetition\(reps == 1 ? "" : "s")"
            out += "\n== \(first["workload"]!) · walker \(first["walker"]!)"
                + (first["dispatch"] == "n/a" ? "" : " (\(first["dispatch"]!))")
                + " · \(first["geometry"]!) · \(over) · ± robust CoV, ! unstable\n"
            var table: [[String]] = [["", ""] + strategies]
            for line in group(block, by: ["readers", "writers"]) {
                let label = "r\(line[0]["readers"]!) w\(line[0]["writers"]!)"
                let perStrategy = strategies.map { s in line.filter { strategyLabel($0) == s } }
                let cost = perStrategy.map { rs -> Double? in
                    guard let f = rs.first, let c = cells[CellKey(f)] else { return nil }
                    return Statistics.median(c.processes.count > 1 ? c.samples(.nsPerWalkMean) : rs.compactMap { Metric.nsPerWalkMean.value($0) })
                }
                let refCost = cost[strategies.firstIndex(of: ref)!]
                table.append([label, "ns/walk mean"] + perStrategy.map { cell($0, .nsPerWalkMean) })
                table.append(["", "×\(ref)"] + cost.map { c in
                    guard let c, let refCost, refCost > 0 else { return "-" }
                    return ResultRow.number(c / refCost, digits: 2)!
                })
                // Range walkers: the cost per page found, which compares walkers and dispatch kinds per entry.
                if first["walker"] != LookupWalker.name && first["walker"] != "lookup-c" {
                    table.append(["", "ns/leaf"] + perStrategy.map { median($0, "ns_per_leaf_mean").map(fmt) ?? "-" })
                }
                if line.contains(where: { ($0["writers"] ?? "0") != "0" }) {
                    table.append(["", "free wait µs p50"] + perStrategy.map { cell($0, .writerWaitP50) })
                    table.append(["", "writer op µs p50"] + perStrategy.map { cell($0, .writerLatencyP50) })
                    table.append(["", "IPIs/op"] + perStrategy.map { medianPerOp($0, "ipis_sent").map(fmt) ?? "-" })
                    if line.contains(where: { $0["ipis_skipped_lazy"].map { !$0.isEmpty } ?? false }) {
                        table.append(["", "skipped lazy/op"] + perStrategy.map { medianPerOp($0, "ipis_skipped_lazy").map(fmt) ?? "-" })
                    }
                }
                table.append(["", "uaf"] + perStrategy.map { rs in
                    let counts = rs.compactMap { $0["uaf_detected"].flatMap { UInt64($0) } }
                    return counts.count == rs.count && !rs.isEmpty ? String(counts.reduce(0, +)) : "-"
                })
            }
            out += align(table)
        }
        return out
    }

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

    /// Rows grouped by the values of `columns`, groups in order of first appearance.
    static func group(_ rows: [ResultRow], by columns: [String]) -> [[ResultRow]] {
        var order: [[String]] = []
        var groups: [[String]: [ResultRow]] = [:]
        for r in rows {
            let k = columns.map { r[$0] ?? "" }
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

    /// Median over repetitions of `column` divided by the writer operations.
    static func medianPerOp(_ rows: [ResultRow], _ column: String) -> Double? {
        Statistics.median(rows.compactMap { r in
            guard let v = r[column].flatMap(Double.init), let ops = r["writer_ops"].flatMap(Double.init), ops > 0 else { return nil }
            return v / ops
        })
    }

    static func median(_ rows: [ResultRow], _ column: String) -> Double? {
        Statistics.median(rows.compactMap { $0[column].flatMap(Double.init) })
    }

    static func fmt(_ v: Double) -> String {
        if v < 1 { return ResultRow.number(v, digits: 3)! }
        if v >= 100 { return ResultRow.number(v, digits: 0)! }
        if v >= 10 { return ResultRow.number(v, digits: 1)! }
        return ResultRow.number(v, digits: 2)!
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

import Foundation
