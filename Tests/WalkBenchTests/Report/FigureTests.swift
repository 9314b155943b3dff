import Foundation
import Testing
@testable import WalkBench

/// The report's figures drawn from a synthetic run whose every value is known: each SVG must parse as
/// XML, and each mark, error bar and bar must sit within a pixel of where its value puts it on the
/// figure's own axes. A figure that draws the wrong data, or misplaces it, fails here.
@Suite struct FigureTests {
    static let strategies = ["none", "rcu-qsbr", "irq-disable"]
    static let readers = [1, 2, 4, 8]
    static let processes = 6

    /// ns per walk of a cell's process p: grows with walkers and differs per strategy, spread a few %.
    static func ns(_ s: String, _ workload: String, _ r: Int, _ p: Int) -> Double {
        let base = ["none": 20.0, "rcu-qsbr": 23.0, "irq-disable": 41.0][s]! * (workload == "unmap-storm" ? 3 : 1)
        return base * pow(Double(r), s == "irq-disable" ? 0.9 : 0.2) * Fixture.jitter(p, r, percent: 4)
    }
    static func wait(_ s: String, _ r: Int, _ p: Int) -> Double { (s == "rcu-qsbr" ? 5000 : 12) * Double(r) * Fixture.jitter(p, 3, percent: 6) }
    static func ipis(_ s: String, _ r: Int, _ p: Int) -> Double { s == "irq-disable" ? Double(r) * 1000 + Double(p) : 0 }

    static func rows() -> [ResultRow] {
        var out: [ResultRow] = []
        for w in ["read-mostly", "unmap-storm"] {
            for s in strategies {
                for r in readers {
                    for p in 1...processes {
                        let writers = w == "unmap-storm" ? 1 : 0
                        var extra: [String: String] = [:]
                        if writers > 0 {
                            extra = ["writer_ops": "1000", "ipis_sent": String(ipis(s, r, p)), "writer_wait_us_p50": String(wait(s, r, p)),
                                     "writer_latency_us_p50": String(wait(s, r, p) / 2 + 3), "bytes_pending_peak": String(4096 * (s == "rcu-qsbr" ? 300 : 1) * p)]
                        }
                        out.append(Fixture.row(strategy: s, workload: w, readers: r, writers: writers, process: p, processes: processes,
                                               nsPerWalk: ns(s, w, r, p), set: extra))
                    }
                }
            }
        }
        // Range walkers: ns per leaf for callback dispatches, one with a retpoline thunk.
        for (d, leaf) in [("direct", 1.6), ("c-indirect", 2.3), ("c-retpoline", 9.3)] {
            for p in 1...processes {
                out.append(Fixture.row(strategy: "none", workload: "read-mostly", process: p, processes: processes, nsPerWalk: leaf * 512,
                                       set: ["walker": "callback", "dispatch": d, "leaves": "512000",
                                             "ns_per_leaf_mean": String(leaf * Fixture.jitter(p, 9, percent: 2))]))
            }
        }
        return out
    }

    /// The median and robust spread of values, worked out here, apart from the code under test.
    static func medianAndSpread(_ v: [Double]) -> (median: Double, low: Double, high: Double) {
        func med(_ x: [Double]) -> Double {
            let s = x.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        let m = med(v)
        let mad = 1.4826 * med(v.map { abs($0 - m) })
        return (m, m - mad, m + mad)
    }

    static func svg(_ name: String, _ rows: [ResultRow]) throws -> SVGFigure {
        let figures = Figures.all(rows)
        let fig = try #require(figures.first { $0.name == name }, "no \(name) among \(figures.map(\.name))")
        return try SVGFigure(SVGPlot.render(fig.figure))
    }

    /// Checks every mark of `panel` against `expected(series, x)`, and that all expected points are drawn.
    static func checkPoints(_ panel: SVGFigure.Panel, count: Int, _ expected: (String, Int) -> [Double]) {
        #expect(panel.marks.count == count, "\(panel.title): \(panel.marks.count) marks, expected \(count)")
        #expect(panel.y.log, "\(panel.title): the y axis is logarithmic")
        for m in panel.marks {
            guard let r = Int(m.x) else { Issue.record("\(panel.title): mark x \(m.x) is not a walker count"); continue }
            let (median, low, high) = medianAndSpread(expected(m.series, r))
            guard let py = panel.y.pixel(median), let px = panel.x.pixel(Double(r)) else {
                Issue.record("\(panel.title): axes without ticks")
                continue
            }
            #expect(abs(m.cy - py) <= 1, "\(panel.title) \(m.series) r\(r): y \(m.cy), value \(median) is at \(py)")
            #expect(abs(m.cx - px) <= 1, "\(panel.title) \(m.series) r\(r): x \(m.cx), \(r) walkers is at \(px)")
            let bar = panel.lines.first { $0.cls == "errorbar" && $0.series == m.series && $0.x == m.x }
            if let bar, let pl = panel.y.pixel(low), let ph = panel.y.pixel(high) {
                #expect(abs(bar.y1 - pl) <= 1 && abs(bar.y2 - ph) <= 1, "\(panel.title) \(m.series) r\(r): error bar \(bar.y1)...\(bar.y2), expected \(pl)...\(ph)")
            } else {
                Issue.record("\(panel.title) \(m.series) r\(r): no error bar")
            }
        }
    }

    @Test func readerCostPutsEveryPointWhereItsValueIs() throws {
        let rows = Self.rows()
        let fig = try Self.svg("reader-cost.svg", rows)
        #expect(fig.panels.map(\.title) == ["read-mostly", "unmap-storm"])
        #expect(Set(fig.legend) == Set(Self.strategies), "\(fig.legend)")
        for w in ["read-mostly", "unmap-storm"] {
            let panel = try #require(fig.panel(w))
            // Range walkers are drawn per entry, not here.
            Self.checkPoints(panel, count: Self.strategies.count * Self.readers.count) { s, r in
                (1...Self.processes).map { Self.ns(s, w, r, $0) }
            }
            #expect(Set(panel.x.ticks.map(\.value)) == Set(Self.readers.map(Double.init)))
        }
    }

    @Test func writerFiguresShowFreeWaitAndOpLatency() throws {
        let fig = try Self.svg("writer-latency.svg", Self.rows())
        #expect(fig.panels.map(\.title) == ["unmap-storm: free wait", "unmap-storm: writer op"])
        Self.checkPoints(try #require(fig.panel("unmap-storm: free wait")), count: 12) { s, r in (1...Self.processes).map { Self.wait(s, r, $0) } }
        Self.checkPoints(try #require(fig.panel("unmap-storm: writer op")), count: 12) { s, r in (1...Self.processes).map { Self.wait(s, r, $0) / 2 + 3 } }
    }

    @Test func barsOfIPIsAndBytesReachTheirValues() throws {
        let fig = try Self.svg("ipis-bytes.svg", Self.rows())
        let ipis = try #require(fig.panel("unmap-storm: IPIs per op (8 walkers)"))
        for s in Self.strategies {
            let expected = Self.medianAndSpread((1...Self.processes).map { Self.ipis(s, 8, $0) / 1000 }).median
            let bar = try #require(ipis.bars.first { $0.category == s }, "no IPI bar for \(s)")
            let top = try #require(ipis.y.pixel(expected)), zero = try #require(ipis.y.pixel(0))
            #expect(abs(bar.y - top) <= 1 && abs(bar.y + bar.height - zero) <= 1, "\(s): bar \(bar.y)+\(bar.height), value \(expected) at \(top)")
        }
        let bytes = try #require(fig.panel("unmap-storm: bytes pending (8 walkers)"))
        #expect(bytes.y.log)
        for s in Self.strategies {
            let expected = Self.medianAndSpread((1...Self.processes).map { Double(4096 * (s == "rcu-qsbr" ? 300 : 1) * $0) }).median
            let bar = try #require(bytes.bars.first { $0.category == s })
            #expect(abs(bar.y - (try #require(bytes.y.pixel(expected)))) <= 1, "\(s): bytes bar top \(bar.y)")
        }
    }

    @Test func nsPerEntrySetsRetpolineApart() throws {
        let fig = try Self.svg("ns-per-entry.svg", Self.rows())
        let panel = try #require(fig.panels.first)
        #expect(panel.bars.count == 3)
        for (d, leaf) in [("direct", 1.6), ("c-indirect", 2.3), ("c-retpoline", 9.3)] {
            let bar = try #require(panel.bars.first { $0.category == "callback/\(d)" })
            #expect(bar.series == (d == "c-retpoline" ? "retpoline" : "plain"))
            let expected = Self.medianAndSpread((1...Self.processes).map { leaf * Fixture.jitter($0, 9, percent: 2) }).median
            #expect(abs(bar.y - (try #require(panel.y.pixel(expected)))) <= 1, "\(d): top \(bar.y)")
        }
    }

    @Test func comparisonPlotsChangeAndIntervalAndHighlightsRegressions() throws {
        let a = Fixture.run("a", strategies: ["none", "counted"], processes: 10) { s, p in (s == "none" ? 20 : 36) * Fixture.jitter(p, 1) }
        let b = Fixture.run("b", strategies: ["none", "counted"], processes: 10) { s, p in (s == "none" ? 20 : 40) * Fixture.jitter(p, 2) }
        let c = Comparison(a: a, b: b)
        let figure = try #require(Figures.comparison(c))
        let svgText = SVGPlot.render(figure)
        let fig = try SVGFigure(svgText)
        let panel = try #require(fig.panels.first { $0.title.hasPrefix("ns_per_walk_mean") })
        #expect(panel.marks.count == 2)
        for e in c.entries where e.metric == .nsPerWalkMean {
            let mark = try #require(panel.marks.first { $0.x == e.cell.label })
            // The change worked out here from the medians of the two sides.
            let strategy = e.cell.value("strategy")
            let ma = Self.medianAndSpread((1...10).map { (strategy == "none" ? 20 : 36) * Fixture.jitter($0, 1) }).median
            let mb = Self.medianAndSpread((1...10).map { (strategy == "none" ? 20 : 40) * Fixture.jitter($0, 2) }).median
            let change = (mb - ma) / ma * 100
            #expect(abs(mark.cx - (try #require(panel.x.pixel(change)))) <= 1, "\(e.cell.label): change \(change) %")
            let interval = try #require(panel.lines.first { $0.cls == "interval" && $0.x == e.cell.label })
            let shift = try #require(e.shift)
            #expect(abs(interval.x1 - (try #require(panel.x.pixel(shift.lower! / ma * 100)))) <= 1)
            #expect(abs(interval.x2 - (try #require(panel.x.pixel(shift.upper! / ma * 100)))) <= 1)
        }
        // counted got 11 % slower: its row is highlighted, none's is not.
        #expect(c.entries.first { $0.metric == .nsPerWalkMean && $0.cell.value("strategy") == "counted" }?.verdict == .slower)
        #expect(svgText.components(separatedBy: "class=\"highlight\"").count - 1 >= 1)
    }

    @Test func aCellWithOnlyDisturbedRepetitionsIsDrawnHollowNotDropped() throws {
        // Every repetition of rcu-qsbr disturbed: comparisons leave it out, the figure draws it hollow.
        let rows = Self.rows().map { r -> ResultRow in
            var r = r
            if r["strategy"] == "rcu-qsbr" { r["disturbed"] = "yes" }
            return r
        }
        let cell = try #require(groupCells(rows).first { $0.key.value("strategy") == "rcu-qsbr" })
        let e = try #require(Figures.estimate(cell, .nsPerWalkMean))
        #expect(e.onlyDisturbed && e.samples == Self.processes)
        let svg = SVGPlot.render(try #require(Figures.all(rows).first { $0.name == "reader-cost.svg" }).figure)
        let panel = try #require(try SVGFigure(svg).panel("read-mostly"))
        #expect(panel.marks.filter { $0.series == "rcu-qsbr" }.count == Self.readers.count)
        #expect(svg.contains("hollow: every repetition disturbed"))
    }

    @Test func aColumnThatDiffersOnlyBetweenStrategiesNamesNoVariant() {
        // batch_fail_rate is 0 for RCU strategies and n/a for the rest: the series are just the strategies.
        let rows = Self.rows().filter { $0["walker"] == "lookup" && $0["workload"] == "unmap-storm" }.map { r -> ResultRow in
            var r = r
            r["batch_fail_rate"] = r["strategy"] == "rcu-qsbr" ? "0" : "n/a"
            return r
        }
        let names = Figures.seriesNames(groupCells(rows).map(\.key))
        #expect(Set(names.values) == Set(Self.strategies))
    }

    @Test func logAxesHaveDecadeTicksAndLabelsReadBack() {
        let axis = SVGPlot.Axis.fitted("t", scale: .log, values: [3, 4000])
        #expect(axis.ticks == [1, 10, 100, 1000, 10000])
        #expect(SVGPlot.Axis.fitted("t", scale: .log, values: [12, 40]).ticks == [10, 20, 50, 100])
        for v in [1.0, 10, 2.5, 10000, 250_000, 1e6, -5, 0.01] {
            #expect(SVGFigure.value(SVGPlot.label(v)) == v, "\(v) → \(SVGPlot.label(v))")
        }
    }

    /// Sixteen-CPU data (a trimmed copy of a real run): five points per curve, each where it belongs.
    @Test func sixteenCPUScalingDataPlotsFivePointsPerCurve() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/16cpu-unmap-storm-trimmed.csv").path
        let rows = try ResultTable.load(path, olderSchema: true)
        let fig = try Self.svg("reader-cost.svg", rows)
        let panel = try #require(fig.panel("unmap-storm"))
        let cells = groupCells(rows)
        #expect(Set(panel.x.ticks.map(\.value)) == [1, 2, 4, 8, 14])
        Self.checkPoints(panel, count: cells.count) { s, r in
            cells.first { $0.key.value("strategy") == s && $0.key.value("readers") == String(r) }!.rows.compactMap { Metric.nsPerWalkMean.value($0) }
        }
    }
}
