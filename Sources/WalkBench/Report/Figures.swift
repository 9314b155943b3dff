import Foundation

/// The figures of `bench report`, built from result rows. Every value plotted is a cell's median over
/// its samples and every error bar that median ± its spread, both exactly as `bench compare` and the
/// summary take them (`Spread.samples`: one sample per process, or the repetitions of a single
/// process; spread = robust CoV, 1.4826 × MAD), so a figure and a comparison never disagree.
public enum Figures {
    /// A cell's value for one metric: the median over its samples and the spread around it.
    public struct Estimate: Sendable, Equatable {
        public var median: Double
        /// Robust CoV in percent (nil: fewer than two samples).
        public var spreadPercent: Double?
        public var samples: Int
        /// Every repetition ran beside busy processes: comparisons leave such a cell out, the figures
        /// show it hollow rather than not at all (a report of a busy machine would otherwise be empty).
        public var onlyDisturbed = false
        /// median × (1 ∓ spread): the error bar's ends.
        public var low: Double? { spreadPercent.map { median * (1 - $0 / 100) } }
        public var high: Double? { spreadPercent.map { median * (1 + $0 / 100) } }
    }

    public static func estimate(_ cell: CellSamples, _ metric: Metric) -> Estimate? {
        let s = Spread.samples(cell, metric)
        if let m = RankStatistics.median(s) { return Estimate(median: m, spreadPercent: Spread.percent(s), samples: s.count) }
        // No undisturbed sample: the same statistics over the disturbed ones, marked as such.
        let byProcess = Dictionary(grouping: cell.rows, by: CellSamples.processID)
        let d = byProcess.count > 1 ? byProcess.values.compactMap { rs in RankStatistics.median(rs.compactMap { metric.value($0) }) }
                                    : cell.rows.compactMap { metric.value($0) }
        guard let m = RankStatistics.median(d) else { return nil }
        return Estimate(median: m, spreadPercent: Spread.percent(d), samples: d.count, onlyDisturbed: true)
    }

    static let disturbedLegend = SVGPlot.LegendEntry(name: "hollow: every repetition disturbed (busy machine)", colour: "#555555", marker: .circle, filled: false)

    /// The legend, with the hollow-mark entry when some value is drawn hollow.
    static func legend(_ entries: [SVGPlot.LegendEntry], _ panels: [SVGPlot.Panel]) -> [SVGPlot.LegendEntry] {
        let hollow = panels.contains { p in
            switch p.content {
            case .xy(_, _, let series): return series.contains { $0.points.contains(where: \.hollow) }
            case .bars(_, _, let bars): return bars.contains(where: \.hollow)
            case .intervals: return false
            }
        }
        return entries + (hollow ? [disturbedLegend] : [])
    }

    /// ns per page found by the range walkers (not a comparison metric, so not in `Metric.all`).
    static let nsPerLeaf = Metric.timed("ns_per_leaf_mean", "ns")

    /// Hands out one style per series name, in order of first request, so a strategy keeps its colour
    /// and marker in every panel of every figure.
    final class Styles {
        private(set) var names: [String] = []
        func index(_ name: String) -> Int {
            if let i = names.firstIndex(of: name) { return i }
            names.append(name)
            return names.count - 1
        }
        func legend(_ used: [String]) -> [SVGPlot.LegendEntry] {
            names.filter(used.contains).map { n in
                let st = SVGPlot.style(index(n))
                return SVGPlot.LegendEntry(name: n, colour: st.colour, marker: st.marker)
            }
        }
    }

    /// Columns that name a series beyond its strategy when they vary inside one panel.
    static let variantColumns = ["walker", "dispatch", "writers", "geometry", "oracle", "take_ref", "span_bytes", "mapped_bytes",
                                 "density", "huge_fraction", "writer_delay_ns", "reader_idle_ns", "batch", "seed",
                                 "window_delay_ns", "batch_fail_rate", "foreign_walkers", "lazy_walkers", "cpumask_trim_ms"]

    static func strategyName(_ k: CellKey) -> String {
        var s = k.value("strategy")
        let lazy = k.value("lazy_tlb")
        if lazy != "n/a" && lazy != "off" && !lazy.isEmpty { s += " lazy-tlb=\(lazy)" }
        if k.value("pt_reclaim") == "on" { s += " pt-reclaim" }
        return s
    }

    /// Series names for cells of one panel: the strategy, plus what else varies among them.
    static func seriesNames(_ keys: [CellKey]) -> [CellKey: String] {
        // A column names a variant only where it varies within one strategy: batch_fail_rate is 0 for
        // the RCU strategies and n/a for the rest, which sets no series apart.
        let byStrategy = Dictionary(grouping: keys, by: strategyName)
        let varying = variantColumns.filter { c in byStrategy.values.contains { ks in Set(ks.map { $0.value(c) }).count > 1 } }
        var out: [CellKey: String] = [:]
        for k in keys {
            var parts = [strategyName(k)]
            if varying.contains("walker") || varying.contains("dispatch") {
                parts.append(k.value("walker") + (k.value("dispatch") == "n/a" ? "" : "/\(k.value("dispatch"))"))
            }
            for c in varying where c != "walker" && c != "dispatch" {
                parts.append(c == "writers" ? "w\(k.value(c))" : "\(c)=\(k.value(c))")
            }
            out[k] = parts.joined(separator: " · ")
        }
        return out
    }

    static func ordered<T: Hashable>(_ xs: [T]) -> [T] {
        var seen = Set<T>()
        return xs.filter { seen.insert($0).inserted }
    }

    static func readers(_ k: CellKey) -> Double { Double(k.value("readers")) ?? 0 }

    /// One xy panel: per series, the metric against the number of walkers.
    static func walkerPanel(_ title: String, _ cells: [CellSamples], _ metric: Metric, yTitle: String, styles: Styles,
                            used: inout [String]) -> SVGPlot.Panel? {
        let names = seriesNames(cells.map(\.key))
        var bySeries: [String: [SVGPlot.Point]] = [:]
        var order: [String] = []
        var values: [Double] = []
        for c in cells {
            guard let e = estimate(c, metric), e.median > 0 else { continue }
            let name = names[c.key]!
            if bySeries[name] == nil { order.append(name) }
            var point = SVGPlot.Point(x: readers(c.key), y: e.median, low: e.low, high: e.high, key: c.key.value("readers"))
            point.hollow = e.onlyDisturbed
            bySeries[name, default: []].append(point)
            values.append(e.median)
            if let lo = e.low, lo > 0 { values.append(lo) }
            if let hi = e.high { values.append(hi) }
        }
        guard !order.isEmpty else { return nil }
        used += order
        let series = order.map { SVGPlot.Series(name: $0, style: styles.index($0), points: bySeries[$0]!) }
        let x = SVGPlot.Axis.counts("walker threads (CPUs in the mm's cpumask)", values: series.flatMap { $0.points.map(\.x) })
        let y = SVGPlot.Axis.fitted(yTitle, scale: .log, values: values)
        return SVGPlot.Panel(title: title, content: .xy(x: x, y: y, series: series))
    }

    static func byWorkload(_ cells: [CellSamples]) -> [(String, [CellSamples])] {
        let names = ordered(cells.map { $0.key.value("workload") })
        return names.map { w in (w, cells.filter { $0.key.value("workload") == w }) }
    }

    /// Reader cost against walkers, per strategy, one panel per workload (log scale).
    static func readerCost(_ cells: [CellSamples], _ styles: Styles) -> SVGPlot.Figure? {
        var used: [String] = []
        let panels = byWorkload(cells).compactMap { w, all -> SVGPlot.Panel? in
            // Range walkers have their own figure (per entry); a panel with lookups shows the lookups.
            let lookups = all.filter { isLookup($0.key) }
            return walkerPanel(w, lookups.isEmpty ? all : lookups, .nsPerWalkMean, yTitle: "reader cost [ns/walk, log]", styles: styles, used: &used)
        }
        guard !panels.isEmpty else { return nil }
        return SVGPlot.Figure(title: "Reader cost: ns per walk (batch mean) against walkers; bars: ± spread over samples",
                              panels: panels, legend: legend(styles.legend(used), panels))
    }

    static func isLookup(_ k: CellKey) -> Bool { ["lookup", "lookup-c"].contains(k.value("walker")) }

    static func hasWriters(_ c: CellSamples) -> Bool { (Int(c.key.value("writers")) ?? 0) > 0 }

    /// Free wait (retire to free) and writer op latency against walkers, per strategy.
    static func writerSide(_ cells: [CellSamples], _ styles: Styles) -> SVGPlot.Figure? {
        var used: [String] = []
        var panels: [SVGPlot.Panel] = []
        for (w, cs) in byWorkload(cells.filter(hasWriters)) {
            if let p = walkerPanel("\(w): free wait", cs, .writerWaitP50, yTitle: "free wait p50 [µs, log]", styles: styles, used: &used) { panels.append(p) }
            if let p = walkerPanel("\(w): writer op", cs, .writerLatencyP50, yTitle: "writer op latency p50 [µs, log]", styles: styles, used: &used) { panels.append(p) }
        }
        guard !panels.isEmpty else { return nil }
        return SVGPlot.Figure(title: "Writers: free wait and op latency (p50) against walkers; bars: ± spread over samples",
                              panels: panels, legend: legend(styles.legend(used), panels))
    }

    /// IPIs per writer op and peak bytes pending per strategy, at each workload's largest walker count.
    static func ipisAndBytes(_ cells: [CellSamples], _ styles: Styles) -> SVGPlot.Figure? {
        var used: [String] = []
        var panels: [SVGPlot.Panel] = []
        for (w, all) in byWorkload(cells.filter(hasWriters)) {
            let most = all.map { readers($0.key) }.max() ?? 0
            let cs = all.filter { readers($0.key) == most }
            let names = seriesNames(cs.map(\.key))
            let walkers = "\(Int(most)) walker\(most == 1 ? "" : "s")"
            for (metric, title, yTitle, scale) in [(Metric.ipisPerOp, "IPIs per op", "IPIs per writer op", SVGPlot.Scale.linear),
                                                    (Metric.bytesPendingPeak, "bytes pending", "bytes pending, peak [B, log]", .log)] {
                var bars: [SVGPlot.Bar] = []
                for c in cs {
                    guard let e = estimate(c, metric) else { continue }
                    let n = names[c.key]!
                    var bar = SVGPlot.Bar(category: n, series: n, style: styles.index(n), value: e.median, low: e.low, high: e.high)
                    bar.hollow = e.onlyDisturbed
                    bars.append(bar)
                }
                guard !bars.isEmpty else { continue }
                used += bars.map(\.series)
                let values = bars.flatMap { [$0.value, $0.high ?? $0.value] }
                panels.append(SVGPlot.Panel(title: "\(w): \(title) (\(walkers))",
                                            content: .bars(categories: bars.map(\.category), y: .fitted(yTitle, scale: scale, values: values), bars: bars)))
            }
        }
        guard !panels.isEmpty else { return nil }
        return SVGPlot.Figure(title: "IPIs per writer op and peak bytes awaiting free, per strategy",
                              panels: panels, legend: legend(styles.legend(used), panels))
    }

    /// Dispatches that call through a retpoline thunk.
    public static let retpolineDispatches: Set<String> = ["c-retpoline", "promoted"]

    /// ns per page found, by walker × dispatch, retpoline builds apart from plain calls.
    static func nsPerEntry(_ cells: [CellSamples]) -> SVGPlot.Figure? {
        let range = cells.filter { c in !isLookup(c.key) && estimate(c, nsPerLeaf) != nil }
        guard !range.isEmpty else { return nil }
        let groups = ordered(range.map { k in ["workload", "strategy", "readers", "writers"].map { k.key.value($0) } })
        let thunk = 1, plain = 0  // styles: blue for plain calls, vermillion for the thunk
        var panels: [SVGPlot.Panel] = []
        for g in groups {
            let cs = range.filter { c in ["workload", "strategy", "readers", "writers"].map { c.key.value($0) } == g }
            var bars: [SVGPlot.Bar] = []
            for c in cs {
                let e = estimate(c, nsPerLeaf)!
                let d = c.key.value("dispatch")
                let category = c.key.value("walker") + (d == "n/a" ? "" : "/\(d)")
                let isThunk = retpolineDispatches.contains(d)
                var bar = SVGPlot.Bar(category: category, series: isThunk ? "retpoline" : "plain", style: isThunk ? thunk : plain,
                                      value: e.median, low: e.low, high: e.high)
                bar.hollow = e.onlyDisturbed
                bars.append(bar)
            }
            panels.append(SVGPlot.Panel(title: "\(g[0]) · \(g[1]) · r\(g[2]) w\(g[3])",
                                        content: .bars(categories: ordered(bars.map(\.category)),
                                                       y: .fitted("ns per entry (page found)", scale: .linear, values: bars.flatMap { [$0.value, $0.high ?? $0.value] }),
                                                       bars: bars)))
        }
        let legend = [SVGPlot.LegendEntry(name: "plain call (no thunk)", colour: SVGPlot.style(plain).colour, marker: nil),
                      SVGPlot.LegendEntry(name: "through a retpoline thunk", colour: SVGPlot.style(thunk).colour, marker: nil)]
        var fig = SVGPlot.Figure(title: "Range walkers: ns per entry by walker × dispatch; bars: ± spread over samples",
                                 panels: panels, legend: Self.legend(legend, panels), columns: 1)
        fig.panelWidth = 880
        return fig
    }

    // MARK: - Comparison

    /// The colour and fill of a verdict's mark: regressions vermillion, improvements blue, same black,
    /// no verdict hollow orange.
    static func verdictStyle(_ v: Comparison.Verdict) -> (colour: String, filled: Bool) {
        if v.isRegression { return ("#D55E00", true) }
        if v == .faster || v == .better { return ("#0072B2", true) }
        if v == .same { return ("#000000", true) }
        return ("#E69F00", false)
    }

    /// The change of an entry and its interval, in percent of what the change is relative to.
    public static func changeInterval(_ e: Comparison.Entry) -> (estimate: Double, low: Double?, high: Double?)? {
        guard let change = e.changePercent else { return nil }
        let base = abs(e.base ?? e.a?.median ?? 0)
        guard base > 0, let s = e.shift, let lo = s.lower, let hi = s.upper else { return (change, nil, nil) }
        return (change, lo / base * 100, hi / base * 100)
    }

    /// Change % per cell with its 95 % interval, one panel per metric `bench check` gates by default
    /// and per other metric that some cell changed in (faster, slower, better, worse).
    public static func comparison(_ c: Comparison) -> SVGPlot.Figure? {
        let decidedChange: Set<Comparison.Verdict> = [.faster, .slower, .better, .worse]
        let metrics = Metric.all.filter { m in
            c.entries.contains { $0.metric == m && $0.changePercent != nil && (Metric.defaultGate.contains(m) || decidedChange.contains($0.verdict)) }
        }
        var seen = Set<String>()
        var panels: [SVGPlot.Panel] = []
        for m in metrics where seen.insert(m.name).inserted {
            let entries = c.entries.filter { $0.metric == m && $0.changePercent != nil }
            let rows: [SVGPlot.IntervalRow] = entries.compactMap { e in
                guard let ci = changeInterval(e) else { return nil }
                let st = verdictStyle(e.verdict)
                return SVGPlot.IntervalRow(label: e.cell.label, estimate: ci.estimate, low: ci.low, high: ci.high, colour: st.colour,
                                           filled: st.filled, highlight: e.verdict.isRegression,
                                           note: "\(ComparisonReport.change(e)) \(e.verdict.rawValue)")
            }
            guard !rows.isEmpty else { continue }
            // The axis fits the changes, not the widest interval: one noisy cell's ±1500 % would squeeze
            // a +20 % regression onto the zero line. Intervals past the edge end in an arrow.
            let reach = max(3 * (rows.map { abs($0.estimate) }.max() ?? 0), 10)
            let values: [Double] = rows.flatMap { r -> [Double] in [r.estimate, r.low, r.high].compactMap { $0 } }.map { min(max($0, -reach), reach) } + [0]
            panels.append(SVGPlot.Panel(title: "\(m.name)" + (m.unit.isEmpty ? "" : " [\(m.unit)]") + ": change B vs A, 95 % interval",
                                        content: .intervals(x: .fitted("change [%]", scale: .linear, values: values), rows: rows)))
        }
        guard !panels.isEmpty else { return nil }
        var fig = SVGPlot.Figure(title: "Comparison: change per cell with its 95 % interval (regressions highlighted)", panels: panels,
                                 legend: [SVGPlot.LegendEntry(name: "slower / worse", colour: "#D55E00", marker: .circle),
                                          SVGPlot.LegendEntry(name: "faster / better", colour: "#0072B2", marker: .circle),
                                          SVGPlot.LegendEntry(name: "same", colour: "#000000", marker: .circle),
                                          SVGPlot.LegendEntry(name: "no verdict (unstable, too few samples)", colour: "#E69F00", marker: .circle, filled: false)],
                                 columns: 1)
        fig.panelWidth = 920
        return fig
    }

    /// The report's figures, by file name, in the order the report shows them.
    public static func all(_ rows: [ResultRow]) -> [(name: String, figure: SVGPlot.Figure)] { all(groupCells(rows)) }

    public static func all(_ cells: [CellSamples]) -> [(name: String, figure: SVGPlot.Figure)] {
        // One book of styles for every figure: a series keeps its colour and marker throughout.
        let styles = Styles()
        var out: [(String, SVGPlot.Figure)] = []
        if let f = readerCost(cells, styles) { out.append(("reader-cost.svg", f)) }
        if let f = writerSide(cells, styles) { out.append(("writer-latency.svg", f)) }
        if let f = ipisAndBytes(cells, styles) { out.append(("ipis-bytes.svg", f)) }
        if let f = nsPerEntry(cells) { out.append(("ns-per-entry.svg", f)) }
        return out
    }
}
