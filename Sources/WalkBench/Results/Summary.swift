/// The table `bench run` prints. One block per (geometry, workload, walker); strategies are columns.
/// For each readers × writers line: reader cost (median over repetitions of the mean ns per walk), its
/// ratio to the reference strategy, the writer's wait from retire to free (p50), and the oracle's count.
public enum Summary {
    public static func render(_ rows: [ResultRow], reference: String?) -> String {
        var out = ""
        for block in group(rows, by: ["geometry", "workload", "walker", "dispatch"]) {
            var strategies: [String] = []
            for r in block where !strategies.contains(strategyLabel(r)) { strategies.append(strategyLabel(r)) }
            let ref = reference.flatMap { strategies.contains($0) ? $0 : nil } ?? strategies[0]
            let first = block[0]
            let reps = Set(block.map { $0["repetition"]! }).count
            out += "\n== \(first["workload"]!) · walker \(first["walker"]!)"
                + (first["dispatch"] == "n/a" ? "" : " (\(first["dispatch"]!))")
                + " · \(first["geometry"]!) · median of \(reps) repetition\(reps == 1 ? "" : "s")\n"
            var table: [[String]] = [["", ""] + strategies]
            for line in group(block, by: ["readers", "writers"]) {
                let label = "r\(line[0]["readers"]!) w\(line[0]["writers"]!)"
                let perStrategy = strategies.map { s in line.filter { strategyLabel($0) == s } }
                let cost = perStrategy.map { median($0, "ns_per_walk_mean") }
                let refCost = cost[strategies.firstIndex(of: ref)!]
                table.append([label, "ns/walk"] + cost.map { $0.map(fmt) ?? "-" })
                table.append(["", "×\(ref)"] + cost.map { c in
                    guard let c, let refCost, refCost > 0 else { return "-" }
                    return ResultRow.number(c / refCost, digits: 2)!
                })
                // Range walkers: the cost per page found, which compares walkers and dispatch kinds per entry.
                if first["walker"] != LookupWalker.name && first["walker"] != "lookup-c" {
                    table.append(["", "ns/leaf"] + perStrategy.map { median($0, "ns_per_leaf_mean").map(fmt) ?? "-" })
                }
                if line.contains(where: { ($0["writers"] ?? "0") != "0" }) {
                    table.append(["", "free wait µs p50"] + perStrategy.map { median($0, "writer_wait_us_p50").map(fmt) ?? "-" })
                    table.append(["", "writer op µs p50"] + perStrategy.map { median($0, "writer_latency_us_p50").map(fmt) ?? "-" })
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
