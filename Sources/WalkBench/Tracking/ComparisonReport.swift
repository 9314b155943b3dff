import Foundation

/// A comparison written out: a table for people (plain or coloured), markdown for CI comments, CSV
/// and JSON for tools. Every format carries the same entries.
public enum ComparisonReport {
    public enum Format: String, CaseIterable, Sendable { case text, md, csv, json }

    public struct Context: Sendable {
        public var nameA: String
        public var nameB: String
        public var colour = false
        /// Show every entry (also `same` and cells with no verdict); else the decided changes and the
        /// gated entries only.
        public var all = false
        public init(nameA: String, nameB: String) {
            self.nameA = nameA
            self.nameB = nameB
        }
    }

    static func number(_ v: Double?, _ unit: String = "") -> String {
        guard let v else { return "-" }
        let a = abs(v)
        let digits = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : 3
        return ResultRow.number(v, digits: digits)! + unit
    }

    static func side(_ s: Comparison.Side?) -> String {
        guard let s else { return "-" }
        return number(s.median) + (s.spreadPercent.map { " ±" + ResultRow.number($0, digits: 1)! + "%" } ?? "") + " (\(s.samples))"
    }

    static func change(_ e: Comparison.Entry) -> String {
        guard let c = e.changePercent else { return "-" }
        return (c >= 0 ? "+" : "") + ResultRow.number(c, digits: 1)! + "%"
    }

    static func interval(_ e: Comparison.Entry) -> String {
        if e.metric?.kind == .exact { return "exact" }
        guard let s = e.shift, let lo = s.lower, let hi = s.upper else { return "-" }
        return "[\(number(lo)), \(number(hi))]"
    }

    static func p(_ e: Comparison.Entry) -> String {
        guard let pa = e.pAdjusted else { return "-" }
        return pa < 0.0001 ? "<0.0001" : ResultRow.number(pa, digits: 4)!
    }

    static func shown(_ c: Comparison, _ ctx: Context) -> [Comparison.Entry] {
        ctx.all ? c.entries : c.entries.filter { e in
            e.gated || [.faster, .slower, .better, .worse, .onlyInA, .onlyInB, .incomparable].contains(e.verdict)
        }
    }

    static func header(_ c: Comparison, _ ctx: Context) -> [String] {
        var lines = ["A: \(ctx.nameA)" + (c.gitRevisionsA.isEmpty ? "" : " (git \(c.gitRevisionsA.joined(separator: ", ")))"),
                     "B: \(ctx.nameB)" + (c.gitRevisionsB.isEmpty ? "" : " (git \(c.gitRevisionsB.joined(separator: ", ")))")]
        lines += c.environmentNotes
        lines += c.safetyFailures.map { "SAFETY: \($0)" }
        var counts: [Comparison.Verdict: Int] = [:]
        for e in c.entries where e.gated || e.metric == nil { counts[e.verdict, default: 0] += 1 }
        let order = Comparison.Verdict.allCases.filter { counts[$0] != nil }
        lines.append("gated: " + (order.isEmpty ? "nothing" : order.map { "\(counts[$0]!) \($0.rawValue)" }.joined(separator: ", ")))
        return lines
    }

    static let columns = ["cell", "metric", "A", "B", "change", "shift 95% CI", "p (Holm)", "verdict", "note"]

    static func fields(_ e: Comparison.Entry) -> [String] {
        [e.cell.label, e.metric.map { $0.name + ($0.unit.isEmpty ? "" : " [\($0.unit)]") } ?? "-", side(e.a), side(e.b),
         change(e), interval(e), p(e), e.verdict.rawValue + (e.gated ? "" : e.metric == nil ? "" : " (not gated)"), e.note ?? ""]
    }

    public static func render(_ c: Comparison, format: Format, context ctx: Context) -> String {
        switch format {
        case .text: return text(c, ctx)
        case .md: return markdown(c, ctx)
        case .csv: return csv(c)
        case .json: return json(c, ctx)
        }
    }

    /// Fixed-width text to paste into a mailing-list post (as mmtests' compare-kernels or the 0-day
    /// bot's reports): one block per metric, each line base ± spread, change, candidate ± spread, then
    /// the shift's interval, the corrected p and the verdict; numbers right-aligned.
    static func text(_ c: Comparison, _ ctx: Context) -> String {
        var out = header(c, ctx).joined(separator: "\n") + "\n"
        let rows = shown(c, ctx)
        guard !rows.isEmpty else { return out + "\nno entries to show (--all shows every metric of every cell)\n" }
        var blocks: [(title: String, entries: [Comparison.Entry])] = []
        for e in rows {
            let title = e.metric.map { m in
                m.name + (m.unit.isEmpty ? "" : " [\(m.unit)]") + (m.polarity == .lowerIsBetter ? ", lower is better" : ", higher is better")
                    + (m.kind == .exact ? ", exact (callgrind)" : "")
            } ?? "cells"
            if let i = blocks.firstIndex(where: { $0.title == title }) { blocks[i].entries.append(e) } else { blocks.append((title, [e])) }
        }
        func sideText(_ s: Comparison.Side?) -> (String, String) {
            guard let s else { return ("-", "") }
            return (number(s.median), (s.spreadPercent.map { "±" + ResultRow.number($0, digits: 1)! + "%" } ?? "") + " (\(s.samples))")
        }
        for block in blocks {
            out += "\n" + block.title + "\n"
            let head = ["", "base", "±spread (n)", "change", "candidate", "±spread (n)", "shift 95% CI", "p (Holm)", "verdict"]
            // Notes go under the block, numbered, so no line runs past the table's width.
            var notes: [String] = []
            let table = [head] + block.entries.map { e -> [String] in
                let (a, sa) = sideText(e.a), (b, sb) = sideText(e.b)
                var verdict = e.verdict.rawValue + (e.gated || e.metric == nil ? "" : " (not gated)")
                if let note = e.note {
                    notes.append(note)
                    verdict += " [\(notes.count)]"
                }
                return [e.cell.label, a, sa, change(e), b, sb, interval(e), p(e), verdict]
            }
            let widths = (0..<head.count).map { i in table.map { $0[i].count }.max()! }
            for (n, r) in table.enumerated() {
                // The cell and the verdict left, numbers right, so digits line up down a column.
                var line = r.enumerated().map { i, f in
                    i == 0 || i == head.count - 1 ? f.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: widths[i] - f.count) + f
                }.joined(separator: "  ")
                while line.hasSuffix(" ") { line.removeLast() }
                if ctx.colour && n > 0 {
                    let v = block.entries[n - 1].verdict
                    if v.isRegression { line = "\u{1B}[31m" + line + "\u{1B}[0m" } else if v == .faster || v == .better { line = "\u{1B}[32m" + line + "\u{1B}[0m" } else if !v.isDecided { line = "\u{1B}[33m" + line + "\u{1B}[0m" }
                }
                out += line + "\n"
            }
            for (i, note) in notes.enumerated() { out += "  [\(i + 1)] \(note)\n" }
        }
        return out
    }

    static func markdown(_ c: Comparison, _ ctx: Context) -> String {
        var out = header(c, ctx).map { "- " + $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: "\n") + "\n\n"
        out += "| " + columns.joined(separator: " | ") + " |\n|" + columns.map { _ in "---" }.joined(separator: "|") + "|\n"
        for e in shown(c, ctx) {
            var f = fields(e).map { $0.replacingOccurrences(of: "|", with: "\\|") }
            if e.verdict.isRegression { f[7] = "**\(f[7])**" }
            out += "| " + f.joined(separator: " | ") + " |\n"
        }
        return out
    }

    static func csv(_ c: Comparison) -> String {
        let header = ["cell", "metric", "unit", "gated", "a_median", "a_spread_pct", "a_samples", "b_median", "b_spread_pct",
                      "b_samples", "change_pct", "shift", "shift_low", "shift_high", "p", "p_holm", "verdict", "note"] + CellKey.columns
        var out = CSV.line(header)
        for e in c.entries {
            let n = { (v: Double?) in ResultRow.number(v, digits: 6) ?? "" }
            out += CSV.line([e.cell.label, e.metric?.name ?? "", e.metric?.unit ?? "", e.gated ? "yes" : "no",
                             n(e.a?.median), n(e.a?.spreadPercent), e.a.map { String($0.samples) } ?? "",
                             n(e.b?.median), n(e.b?.spreadPercent), e.b.map { String($0.samples) } ?? "",
                             n(e.changePercent), n(e.shift?.estimate), n(e.shift?.lower), n(e.shift?.upper),
                             n(e.p), n(e.pAdjusted), e.verdict.rawValue, e.note ?? ""] + e.cell.values)
        }
        return out
    }

    static func json(_ c: Comparison, _ ctx: Context) -> String {
        func side(_ s: Comparison.Side?) -> Any {
            guard let s else { return NSNull() }
            return ["median": s.median, "spread_pct": s.spreadPercent as Any? ?? NSNull(), "samples": s.samples]
        }
        let entries: [[String: Any]] = c.entries.map { e in
            var cell: [String: String] = [:]
            for (k, v) in zip(CellKey.columns, e.cell.values) { cell[k] = v }
            return ["cell": cell, "label": e.cell.label, "metric": e.metric?.name ?? NSNull(), "unit": e.metric?.unit ?? NSNull(),
                    "gated": e.gated, "a": side(e.a), "b": side(e.b),
                    "change_pct": e.changePercent ?? NSNull(), "shift": e.shift?.estimate ?? NSNull(),
                    "shift_low": e.shift?.lower ?? NSNull(), "shift_high": e.shift?.upper ?? NSNull(),
                    "p": e.p ?? NSNull(), "p_holm": e.pAdjusted ?? NSNull(), "verdict": e.verdict.rawValue, "note": e.note ?? NSNull()]
        }
        let doc: [String: Any] = ["a": ctx.nameA, "b": ctx.nameB, "git_a": c.gitRevisionsA, "git_b": c.gitRevisionsB,
                                  "environment": c.environmentNotes, "safety_failures": c.safetyFailures, "entries": entries]
        let data = (try? JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
