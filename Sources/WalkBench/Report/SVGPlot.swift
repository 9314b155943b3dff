import Foundation

/// A small SVG plotter: panels of points with error bars, bars, and interval rows, on linear or log
/// axes, written as plain SVG 1.1 text (no plotting runtime). What tests read back:
/// - every axis is `<g class="axis x|y" data-scale="linear|log">` holding `<g class="tick">` elements,
///   each a `<line>` at the tick's pixel and a `<text>` with its value;
/// - every point is `<path class="mark" data-series=… data-x=…>` whose path starts with `M cx cy`
///   at the point's centre (the shape is drawn relative to it);
/// - error bars and intervals are `<line class="errorbar|interval">` from one end to the other;
/// - bars are `<rect class="bar" data-series=… data-category=…>`, the value at the top edge (or, for
///   negative values on a linear axis, the bottom edge).
public enum SVGPlot {
    /// Okabe & Ito's palette, safe for the common colour-vision deficiencies; yellow left out (too pale
    /// on white).
    public static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999933"]
    /// Marker shapes, cycled with a different period from the colours, so series stay apart in grey.
    public enum Marker: Int, CaseIterable, Sendable { case circle, square, triangle, diamond, triangleDown, cross, plus }

    /// The colour and marker of the i-th series: colour i mod 8, marker i mod 7 (56 distinct pairs).
    public static func style(_ i: Int) -> (colour: String, marker: Marker) {
        (palette[i % palette.count], Marker(rawValue: i % Marker.allCases.count)!)
    }

    public enum Scale: String, Sendable { case linear, log }

    public struct Axis: Sendable {
        public var title: String
        public var scale: Scale
        public var lower: Double
        public var upper: Double
        public var ticks: [Double]

        /// Fraction 0...1 of the way from lower to upper.
        func fraction(_ v: Double) -> Double {
            switch scale {
            case .linear: return upper == lower ? 0.5 : (v - lower) / (upper - lower)
            case .log: return upper == lower ? 0.5 : (log10(v) - log10(lower)) / (log10(upper) - log10(lower))
            }
        }

        /// An axis that holds `values`: log with decade ticks (and 2, 5 within a decade when the data
        /// spans less than two decades), or linear with 1-2-5 steps.
        public static func fitted(_ title: String, scale: Scale, values: [Double], includeZero: Bool = true) -> Axis {
            let finite = values.filter { $0.isFinite && (scale == .linear || $0 > 0) }
            switch scale {
            case .log:
                var lo = finite.min() ?? 1, hi = finite.max() ?? 10
                lo = pow(10, floor(log10(lo)))
                hi = pow(10, ceil(log10(hi)))
                if hi <= lo { hi = lo * 10 }
                var ticks: [Double] = []
                var d = lo
                let decades = Int((log10(hi) - log10(lo)).rounded())
                while d <= hi * 1.000001 {
                    ticks.append(d)
                    if decades < 2 && d < hi * 0.99 { ticks += [2 * d, 5 * d] }
                    d *= 10
                }
                return Axis(title: title, scale: .log, lower: lo, upper: hi, ticks: ticks)
            case .linear:
                var lo = finite.min() ?? 0, hi = finite.max() ?? 1
                if includeZero { lo = min(lo, 0); hi = max(hi, 0) }
                if hi == lo { hi = lo + 1 }
                let step = niceStep((hi - lo) / 5)
                lo = floor(lo / step) * step
                // Headroom: a value on the top tick would touch the frame and look cut off.
                hi = (ceil(hi / step) + (hi.truncatingRemainder(dividingBy: step) == 0 && hi > 0 ? 1 : 0)) * step
                let ticks = stride(from: lo, through: hi + step / 1000, by: step).map { abs($0) < step / 1e6 ? 0 : $0 }
                return Axis(title: title, scale: .linear, lower: lo, upper: hi, ticks: ticks)
            }
        }

        /// A log axis for counts such as walkers: ticks at the values themselves, a margin either side.
        public static func counts(_ title: String, values: [Double]) -> Axis {
            let vs = Array(Set(values.filter { $0 > 0 })).sorted()
            guard let lo = vs.first, let hi = vs.last else { return fitted(title, scale: .linear, values: [0, 1]) }
            if lo == hi { return Axis(title: title, scale: .linear, lower: lo - 1, upper: lo + 1, ticks: [lo]) }
            let margin = pow(hi / lo, 0.06)
            return Axis(title: title, scale: .log, lower: lo / margin, upper: hi * margin, ticks: vs)
        }

        static func niceStep(_ raw: Double) -> Double {
            guard raw > 0, raw.isFinite else { return 1 }
            let p = pow(10, floor(log10(raw)))
            for m in [1.0, 2, 2.5, 5, 10] where m * p >= raw { return m * p }
            return 10 * p
        }
    }

    /// A tick label: plain digits up to 9999, then k and M (10k, 2.5M), short decimals below 1.
    public static func label(_ v: Double) -> String {
        let a = abs(v)
        let sign = v < 0 ? "−" : ""
        func trim(_ x: Double) -> String { ResultRow.number(x, digits: 3)! }
        if a >= 1e6 { return sign + trim(a / 1e6) + "M" }
        if a >= 1e4 { return sign + trim(a / 1e3) + "k" }
        return sign + trim(a)
    }

    public struct Point: Sendable {
        public var x: Double
        public var y: Double
        /// The error bar's ends (nil: none drawn).
        public var low: Double?
        public var high: Double?
        /// What the point is, for tests and tooltips (the x value as text, a cell label).
        public var key: String
        /// Drawn as an outline: a value to read with care (e.g. only disturbed repetitions).
        public var hollow = false
        public init(x: Double, y: Double, low: Double? = nil, high: Double? = nil, key: String) {
            self.x = x; self.y = y; self.low = low; self.high = high; self.key = key
        }
    }

    public struct Series: Sendable {
        public var name: String
        /// The style index (`style(_:)`): the same series keeps it in every panel and figure.
        public var style: Int
        public var points: [Point]
        public var connect = true
        public init(name: String, style: Int, points: [Point], connect: Bool = true) {
            self.name = name; self.style = style; self.points = points; self.connect = connect
        }
    }

    /// One bar of a bar panel.
    public struct Bar: Sendable {
        public var category: String
        public var series: String
        public var style: Int
        public var value: Double
        public var low: Double?
        public var high: Double?
        public var hollow = false
        public init(category: String, series: String, style: Int, value: Double, low: Double? = nil, high: Double? = nil) {
            self.category = category; self.series = series; self.style = style; self.value = value; self.low = low; self.high = high
        }
    }

    /// A row of an interval panel (a forest plot): an estimate, its interval, a colour, a highlight.
    public struct IntervalRow: Sendable {
        public var label: String
        public var estimate: Double
        public var low: Double?
        public var high: Double?
        public var colour: String
        public var filled: Bool
        public var highlight: Bool
        public var note: String
        public init(label: String, estimate: Double, low: Double?, high: Double?, colour: String, filled: Bool, highlight: Bool, note: String) {
            self.label = label; self.estimate = estimate; self.low = low; self.high = high
            self.colour = colour; self.filled = filled; self.highlight = highlight; self.note = note
        }
    }

    public enum Content: Sendable {
        case xy(x: Axis, y: Axis, series: [Series])
        case bars(categories: [String], y: Axis, bars: [Bar])
        case intervals(x: Axis, rows: [IntervalRow])
    }

    public struct Panel: Sendable {
        public var title: String
        public var content: Content
        public init(title: String, content: Content) { self.title = title; self.content = content }
    }

    public struct LegendEntry: Sendable {
        public var name: String
        public var colour: String
        public var marker: Marker?
        public var filled = true
        public init(name: String, colour: String, marker: Marker?, filled: Bool = true) {
            self.name = name; self.colour = colour; self.marker = marker; self.filled = filled
        }
    }

    public struct Figure: Sendable {
        public var title: String
        public var panels: [Panel]
        public var legend: [LegendEntry]
        public var columns: Int
        public var panelWidth = 440.0
        public var panelHeight = 300.0
        public init(title: String, panels: [Panel], legend: [LegendEntry], columns: Int = 2) {
            self.title = title; self.panels = panels; self.legend = legend; self.columns = columns
        }
    }

    // MARK: - Rendering

    static func esc(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    static func f(_ v: Double) -> String { String(format: "%.2f", v) }

    /// The path of a marker centred at (x, y): it starts with `M x y`, the rest relative to the centre.
    static func markerPath(_ m: Marker, _ x: Double, _ y: Double, _ r: Double = 4.5) -> String {
        let c = "M\(f(x)) \(f(y))"
        switch m {
        case .circle: return c + " m\(f(-r)) 0 a\(f(r)) \(f(r)) 0 1 0 \(f(2 * r)) 0 a\(f(r)) \(f(r)) 0 1 0 \(f(-2 * r)) 0 z"
        case .square: let s = r * 0.85; return c + " m\(f(-s)) \(f(-s)) h\(f(2 * s)) v\(f(2 * s)) h\(f(-2 * s)) z"
        case .triangle: return c + " m0 \(f(-r * 1.15)) l\(f(r)) \(f(r * 1.8)) h\(f(-2 * r)) z"
        case .triangleDown: return c + " m0 \(f(r * 1.15)) l\(f(r)) \(f(-r * 1.8)) h\(f(-2 * r)) z"
        case .diamond: return c + " m0 \(f(-r * 1.2)) l\(f(r)) \(f(r * 1.2)) l\(f(-r)) \(f(r * 1.2)) l\(f(-r)) \(f(-r * 1.2)) z"
        case .cross: let s = r * 0.8; return c + " m\(f(-s)) \(f(-s)) l\(f(2 * s)) \(f(2 * s)) m0 \(f(-2 * s)) l\(f(-2 * s)) \(f(2 * s))"
        case .plus: return c + " m\(f(-r)) 0 h\(f(2 * r)) m\(f(-r)) \(f(-r)) v\(f(2 * r))"
        }
    }

    /// Open markers (cross, plus) are strokes only; the rest are filled.
    static func markerStyle(_ m: Marker, _ colour: String, filled: Bool = true) -> String {
        if m == .cross || m == .plus { return "fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"" }
        return filled ? "fill=\"\(colour)\" stroke=\"#ffffff\" stroke-width=\"0.8\"" : "fill=\"#ffffff\" stroke=\"\(colour)\" stroke-width=\"1.8\""
    }

    /// The whole figure as an SVG document.
    public static func render(_ fig: Figure) -> String {
        let cols = max(1, min(fig.columns, fig.panels.count))
        let rowsOfPanels = (fig.panels.count + cols - 1) / cols
        let heights = fig.panels.map(panelHeight(fig))
        var rowHeights: [Double] = []
        for r in 0..<rowsOfPanels { rowHeights.append(heights[(r * cols)..<min(fig.panels.count, (r + 1) * cols)].max() ?? fig.panelHeight) }
        let titleHeight = 34.0
        // Legend columns as wide as the longest name (about 7 px a character at 12 px), so none overlap.
        let legendWidth = 40 + 7.0 * Double(fig.legend.map(\.name.count).max() ?? 10)
        let legendColumns = max(1, Int((Double(cols) * fig.panelWidth - 16) / legendWidth))
        let legendRows = (fig.legend.count + legendColumns - 1) / legendColumns
        let legendHeight = fig.legend.isEmpty ? 0 : Double(legendRows) * 20 + 16
        // Never narrower than the title (about 8.5 px a character at 15 px bold).
        let width = max(Double(cols) * fig.panelWidth, 24 + 8.5 * Double(fig.title.count))
        let height = titleHeight + legendHeight + rowHeights.reduce(0, +) + 8
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
        s += "<title>\(esc(fig.title))</title>\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
        s += "<text class=\"figure-title\" x=\"12\" y=\"22\" font-size=\"15\" font-weight=\"bold\">\(esc(fig.title))</text>\n"
        // The legend, under the title: shared by every panel (a series keeps its style everywhere).
        if !fig.legend.isEmpty {
            s += "<g class=\"legend\">\n"
            for (i, e) in fig.legend.enumerated() {
                let x = 16 + Double(i % legendColumns) * legendWidth, y = titleHeight + 10 + Double(i / legendColumns) * 20
                if let m = e.marker {
                    s += "<line x1=\"\(f(x))\" y1=\"\(f(y))\" x2=\"\(f(x + 22))\" y2=\"\(f(y))\" stroke=\"\(e.colour)\" stroke-width=\"1.5\"/>"
                    s += "<path d=\"\(markerPath(m, x + 11, y))\" \(markerStyle(m, e.colour, filled: e.filled))/>"
                } else {
                    s += "<rect x=\"\(f(x + 3))\" y=\"\(f(y - 6))\" width=\"16\" height=\"12\" fill=\"\(e.colour)\"/>"
                }
                s += "<text x=\"\(f(x + 28))\" y=\"\(f(y + 4))\">\(esc(e.name))</text>\n"
            }
            s += "</g>\n"
        }
        var y0 = titleHeight + legendHeight
        for r in 0..<rowsOfPanels {
            for c in 0..<cols {
                let i = r * cols + c
                guard i < fig.panels.count else { break }
                s += renderPanel(fig.panels[i], x: Double(c) * fig.panelWidth, y: y0, width: fig.panelWidth, height: heights[i])
            }
            y0 += rowHeights[r]
        }
        return s + "</svg>\n"
    }

    static func panelHeight(_ fig: Figure) -> (Panel) -> Double {
        { p in
            if case .intervals(_, let rows) = p.content { return max(fig.panelHeight * 0.6, 70 + Double(rows.count) * 20) }
            return fig.panelHeight
        }
    }

    /// Left margin for y tick labels; interval panels need room for their row labels.
    static func renderPanel(_ p: Panel, x: Double, y: Double, width: Double, height: Double) -> String {
        var left = 62.0
        if case .intervals(_, let rows) = p.content {
            left = min(width * 0.55, 12 + 6.6 * Double(rows.map(\.label.count).max() ?? 10))
        }
        var bottom = 48.0
        if case .bars(let categories, _, _) = p.content {
            // Room for the rotated category names (35°: about 0.6 of their length hangs below).
            bottom = max(48, 24 + 6.5 * 0.6 * Double(categories.map(\.count).max() ?? 0))
        }
        var top = 28.0
        if case .intervals = p.content { top = 40 }
        let right = 14.0
        let px = x + left, py = y + top, pw = width - left - right, ph = height - top - bottom
        var s = "<g class=\"panel\" data-title=\"\(esc(p.title))\">\n"
        s += "<text class=\"panel-title\" x=\"\(f(x + left))\" y=\"\(f(y + 18))\" font-size=\"13\" font-weight=\"bold\">\(esc(p.title))</text>\n"
        s += "<rect x=\"\(f(px))\" y=\"\(f(py))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#888888\" stroke-width=\"0.8\"/>\n"
        func xPixel(_ a: Axis, _ v: Double) -> Double { px + a.fraction(v) * pw }
        func yPixel(_ a: Axis, _ v: Double) -> Double { py + ph - a.fraction(v) * ph }
        func yAxis(_ a: Axis) -> String {
            var t = "<g class=\"axis y\" data-scale=\"\(a.scale.rawValue)\">\n"
            for v in a.ticks {
                let yy = yPixel(a, v)
                t += "<g class=\"tick\"><line x1=\"\(f(px))\" y1=\"\(f(yy))\" x2=\"\(f(px + pw))\" y2=\"\(f(yy))\" stroke=\"#dddddd\" stroke-width=\"0.8\"/>"
                t += "<text x=\"\(f(px - 6))\" y=\"\(f(yy + 4))\" text-anchor=\"end\">\(esc(label(v)))</text></g>\n"
            }
            t += "<text class=\"axis-title\" transform=\"translate(\(f(x + 14)) \(f(py + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(esc(a.title))</text>\n"
            return t + "</g>\n"
        }
        func xAxis(_ a: Axis) -> String {
            var t = "<g class=\"axis x\" data-scale=\"\(a.scale.rawValue)\">\n"
            for v in a.ticks {
                let xx = xPixel(a, v)
                t += "<g class=\"tick\"><line x1=\"\(f(xx))\" y1=\"\(f(py))\" x2=\"\(f(xx))\" y2=\"\(f(py + ph))\" stroke=\"#dddddd\" stroke-width=\"0.8\"/>"
                t += "<text x=\"\(f(xx))\" y=\"\(f(py + ph + 16))\" text-anchor=\"middle\">\(esc(label(v)))</text></g>\n"
            }
            t += "<text class=\"axis-title\" x=\"\(f(px + pw / 2))\" y=\"\(f(py + ph + 36))\" text-anchor=\"middle\">\(esc(a.title))</text>\n"
            return t + "</g>\n"
        }
        switch p.content {
        case .xy(let ax, let ay, let series):
            s += yAxis(ay) + xAxis(ax)
            for se in series {
                let (colour, marker) = style(se.style)
                let pts = se.points.filter { $0.y.isFinite && (ay.scale == .linear || $0.y > 0) }
                if se.connect && pts.count > 1 {
                    let list = pts.sorted { $0.x < $1.x }.map { "\(f(xPixel(ax, $0.x))),\(f(yPixel(ay, $0.y)))" }.joined(separator: " ")
                    s += "<polyline class=\"series-line\" data-series=\"\(esc(se.name))\" points=\"\(list)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" stroke-opacity=\"0.8\"/>\n"
                }
                for pt in pts {
                    let cx = xPixel(ax, pt.x), cy = yPixel(ay, pt.y)
                    if let lo = pt.low, let hi = pt.high, ay.scale == .linear || lo > 0 {
                        let y1 = yPixel(ay, lo), y2 = yPixel(ay, hi)
                        s += "<line class=\"errorbar\" data-series=\"\(esc(se.name))\" data-x=\"\(esc(pt.key))\" x1=\"\(f(cx))\" y1=\"\(f(y1))\" x2=\"\(f(cx))\" y2=\"\(f(y2))\" stroke=\"\(colour)\" stroke-width=\"1.2\"/>"
                        s += "<path d=\"M\(f(cx - 3)) \(f(y1)) h6 M\(f(cx - 3)) \(f(y2)) h6\" stroke=\"\(colour)\" stroke-width=\"1.2\"/>\n"
                    }
                    s += "<path class=\"mark\" data-series=\"\(esc(se.name))\" data-x=\"\(esc(pt.key))\" d=\"\(markerPath(marker, cx, cy))\" \(markerStyle(marker, colour, filled: !pt.hollow))><title>\(esc(se.name)): \(esc(label(pt.y)))</title></path>\n"
                }
            }
        case .bars(let categories, let ay, let bars):
            s += yAxis(ay)
            let slot = pw / Double(max(categories.count, 1))
            // Each category's bars side by side, as many slots as the fullest category needs.
            var perCategory: [String: [String]] = [:]
            for b in bars where !(perCategory[b.category] ?? []).contains(b.series) { perCategory[b.category, default: []].append(b.series) }
            let barWidth = min(slot * 0.8 / Double(max(perCategory.values.map(\.count).max() ?? 1, 1)), 56)
            let base = ay.scale == .log ? py + ph : yPixel(ay, 0)
            s += "<g class=\"axis x categories\">\n"
            for (i, c) in categories.enumerated() {
                let cx = px + (Double(i) + 0.5) * slot
                // Category names are rotated so long strategy names never overlap.
                s += "<text x=\"\(f(cx))\" y=\"\(f(py + ph + 12))\" text-anchor=\"end\" transform=\"rotate(-35 \(f(cx)) \(f(py + ph + 12)))\" font-size=\"11\">\(esc(c))</text>\n"
            }
            s += "</g>\n"
            for b in bars {
                guard let ci = categories.firstIndex(of: b.category), let si = perCategory[b.category]?.firstIndex(of: b.series) else { continue }
                let colour = style(b.style).colour
                let inCategory = Double(perCategory[b.category]?.count ?? 1)
                let bx = px + (Double(ci) + 0.5) * slot - inCategory * barWidth / 2 + Double(si) * barWidth
                // A zero has no bar to show it: say 0, so it is not read as missing.
                if b.value == 0 || (ay.scale == .log && b.value < 0) {
                    s += "<text class=\"zero\" x=\"\(f(bx + barWidth / 2))\" y=\"\(f(base - 4))\" text-anchor=\"middle\" font-size=\"10\">0</text>\n"
                    if ay.scale == .log { continue }
                }
                let top = yPixel(ay, b.value)
                let (y1, y2) = top < base ? (top, base) : (base, top)
                s += "<rect class=\"bar\" data-series=\"\(esc(b.series))\" data-category=\"\(esc(b.category))\" x=\"\(f(bx))\" y=\"\(f(y1))\" width=\"\(f(barWidth * 0.92))\" height=\"\(f(max(y2 - y1, 0)))\" \(b.hollow ? "fill=\"#ffffff\" stroke=\"\(colour)\" stroke-width=\"2\"" : "fill=\"\(colour)\"")><title>\(esc(b.category)) \(esc(b.series)): \(esc(label(b.value)))</title></rect>\n"
                if let lo = b.low, let hi = b.high, ay.scale == .linear || lo > 0 {
                    let cx = bx + barWidth * 0.46
                    s += "<line class=\"errorbar\" data-series=\"\(esc(b.series))\" data-x=\"\(esc(b.category))\" x1=\"\(f(cx))\" y1=\"\(f(yPixel(ay, lo)))\" x2=\"\(f(cx))\" y2=\"\(f(yPixel(ay, hi)))\" stroke=\"#000000\" stroke-width=\"1.2\"/>\n"
                }
            }
        case .intervals(let ax, let rows):
            s += xAxis(ax)
            // A tall panel: the tick values again along the top, so they are in view wherever one reads.
            for v in ax.ticks { s += "<text x=\"\(f(xPixel(ax, v)))\" y=\"\(f(py - 4))\" text-anchor=\"middle\" font-size=\"10\" fill=\"#555555\">\(esc(label(v)))</text>\n" }
            let zero = xPixel(ax, 0)
            s += "<line x1=\"\(f(zero))\" y1=\"\(f(py))\" x2=\"\(f(zero))\" y2=\"\(f(py + ph))\" stroke=\"#444444\" stroke-width=\"1\"/>\n"
            let step = ph / Double(max(rows.count, 1))
            for (i, r) in rows.enumerated() {
                let cy = py + (Double(i) + 0.5) * step
                if r.highlight {
                    s += "<rect class=\"highlight\" x=\"\(f(x + 2))\" y=\"\(f(cy - step / 2))\" width=\"\(f(width - 4))\" height=\"\(f(step))\" fill=\"#D55E00\" fill-opacity=\"0.12\"/>\n"
                }
                s += "<text x=\"\(f(px - 6))\" y=\"\(f(cy + 4))\" text-anchor=\"end\" font-size=\"11\"\(r.highlight ? " font-weight=\"bold\" fill=\"#A04000\"" : "")>\(esc(r.label))</text>\n"
                if let lo = r.low, let hi = r.high {
                    let x1 = xPixel(ax, max(lo, ax.lower)), x2 = xPixel(ax, min(hi, ax.upper))
                    s += "<line class=\"interval\" data-x=\"\(esc(r.label))\" x1=\"\(f(x1))\" y1=\"\(f(cy))\" x2=\"\(f(x2))\" y2=\"\(f(cy))\" stroke=\"\(r.colour)\" stroke-width=\"2\"/>\n"
                    // An interval that runs past the axis ends in an arrow at the edge.
                    if lo < ax.lower { s += "<path class=\"clipped\" d=\"M\(f(x1)) \(f(cy)) l7 -4 v8 z\" fill=\"\(r.colour)\"/>\n" }
                    if hi > ax.upper { s += "<path class=\"clipped\" d=\"M\(f(x2)) \(f(cy)) l-7 -4 v8 z\" fill=\"\(r.colour)\"/>\n" }
                }
                s += "<path class=\"mark\" data-series=\"change\" data-x=\"\(esc(r.label))\" d=\"\(markerPath(.circle, xPixel(ax, r.estimate), cy))\" \(markerStyle(.circle, r.colour, filled: r.filled))><title>\(esc(r.label)): \(esc(r.note))</title></path>\n"
            }
        }
        return s + "</g>\n"
    }
}
