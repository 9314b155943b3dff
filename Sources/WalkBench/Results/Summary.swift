/// The table `bench run` prints: per (geometry, workload, walker), strategies side by side, each cell
/// the median over repetitions of the mean ns per walk, its ratio to the reference strategy, and the
/// use-after-free count; then writer latency and tables freed.
public enum Summary {
    public static func render(_ rows: [ResultRow], reference: String?) -> String {
        func key(_ r: ResultRow, _ cols: [String]) -> String { cols.map { r[$0] ?? "" }.joined(separator: "\u{1F}") }
        let blockCols = ["geometry", "workload", "walker", "dispatch"]
        let lineCols = ["readers", "writers"]
        var blocks: [String] = []
        var blockRows: [String: [ResultRow]] = [:]
        for r in rows {
            let k = key(r, blockCols)
            if blockRows[k] == nil { blocks.append(k) }
            blockRows[k, default: []].append(r)
        }
        var out = ""
        for b in blocks {
            let rs = blockRows[b]!
            var strategies: [String] = []
            for r in rs where !strategies.contains(r["strategy"]!) { strategies.append(r["strategy"]!) }
            let ref = reference.flatMap { strategies.contains($0) ? $0 : nil } ?? strategies[0]
            let first = rs[0]
            out += "\n== \(first["workload"]!) · walker \(first["walker"]!)"
                + (first["dispatch"] == "n/a" ? "" : " (\(first["dispatch"]!))")
                + " · \(first["geometry"]!) · ns/walk: median of \(Set(rs.map { $0["repetition"]! }).count) reps of the mean · ×\(ref)\n"
            var table: [[String]] = [["r", "w"] + strategies.map { "\($0)" }]
            var lines: [String] = []
            var lineRows: [String: [ResultRow]] = [:]
            for r in rs {
                let k = key(r, lineCols)
                if lineRows[k] == nil { lines.append(k) }
                lineRows[k, default: []].append(r)
            }
            for l in lines {
                let lr = lineRows[l]!
                let refValue = median(lr.filter { $0["strategy"] == ref }, "ns_per_walk_mean")
                var cells = [lr[0]["readers"]!, lr[0]["writers"]!]
                for s in strategies {
                    let sr = lr.filter { $0["strategy"] == s }
                    guard let v = median(sr, "ns_per_walk_mean") else { cells.append("-"); continue }
                    var cell = fmt(v)
                    if let refValue, refValue > 0 { cell += " \(fmt(v / refValue))×" }
                    let uafs = sr.compactMap { $0["uaf_detected"].flatMap { UInt64($0) } }
                    cell += uafs.count == sr.count ? " uaf \(uafs.reduce(0, +))" : " uaf -"
                    if let w = median(sr, "writer_latency_us_p50") { cell += " · wr \(fmt(w))µs" }
                    cells.append(cell)
                }
                table.append(cells)
            }
            out += align(table)
        }
        return out
    }

    static func median(_ rows: [ResultRow], _ column: String) -> Double? {
        Statistics.median(rows.compactMap { $0[column].flatMap(Double.init) })
    }

    static func fmt(_ v: Double) -> String {
        if v >= 100 { return ResultRow.number(v, digits: 0)! }
        if v >= 10 { return ResultRow.number(v, digits: 1)! }
        return ResultRow.number(v, digits: 2)!
    }

    static func align(_ table: [[String]]) -> String {
        let widths = (0..<table[0].count).map { c in table.map { $0[c].count }.max()! }
        return table.map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }
}

import Foundation
