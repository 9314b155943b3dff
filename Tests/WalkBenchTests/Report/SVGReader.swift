import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An SVG figure read back as XML, and what a reader of it can measure: each panel's axes (tick pixel
/// and tick label), its marks, error bars and bars. Values are recovered from pixels through the
/// axis's own ticks, so a test checks what the figure shows, not what the plotter meant.
struct SVGFigure {
    struct Tick { var pixel: Double; var value: Double }
    struct Axis {
        var log = false
        var ticks: [Tick] = []

        /// The pixel a value should sit at, interpolated between the axis's outermost ticks.
        func pixel(_ v: Double) -> Double? {
            guard let a = ticks.first, let b = ticks.last, a.value != b.value else { return nil }
            let t = log ? (Foundation.log10(v) - Foundation.log10(a.value)) / (Foundation.log10(b.value) - Foundation.log10(a.value))
                        : (v - a.value) / (b.value - a.value)
            return a.pixel + t * (b.pixel - a.pixel)
        }
    }
    struct Mark { var series: String; var x: String; var cx: Double; var cy: Double }
    struct Line { var cls: String; var series: String; var x: String; var x1, y1, x2, y2: Double }
    struct Bar { var series: String; var category: String; var x, y, width, height: Double }
    struct Panel {
        var title: String
        var x = Axis()
        var y = Axis()
        var marks: [Mark] = []
        var lines: [Line] = []
        var bars: [Bar] = []
    }

    var panels: [Panel] = []
    var legend: [String] = []

    func panel(_ title: String) -> Panel? { panels.first { $0.title == title } }

    enum ReadError: Error { case notXML(String) }

    /// Parses `svg`; throws if it is not well-formed XML.
    init(_ svg: String) throws {
        let delegate = Collector()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = delegate
        guard parser.parse() else { throw ReadError.notXML(parser.parserError.map { "\($0)" } ?? "unknown error") }
        panels = delegate.panels
        legend = delegate.legend
    }

    /// Tick labels as the plotter writes them: 10, 2.5, 10k, 1M, −5.
    static func value(_ label: String) -> Double? {
        var s = label.replacingOccurrences(of: "−", with: "-")
        var scale = 1.0
        if s.hasSuffix("k") { scale = 1e3; s.removeLast() } else if s.hasSuffix("M") { scale = 1e6; s.removeLast() }
        return Double(s).map { $0 * scale }
    }

    static func centre(_ d: String) -> (Double, Double)? {
        let parts = d.dropFirst().split(whereSeparator: { $0 == " " || $0 == "m" || $0 == "l" || $0 == "a" || $0 == "h" || $0 == "v" || $0 == "z" })
        guard d.hasPrefix("M"), parts.count >= 2, let x = Double(parts[0]), let y = Double(parts[1]) else { return nil }
        return (x, y)
    }

    final class Collector: NSObject, XMLParserDelegate {
        var panels: [Panel] = []
        var legend: [String] = []
        var stack: [String] = []  // class of each open element
        var axis: String?  // "x" or "y" inside an axis group
        var tickPixel: Double?
        var text = ""
        var inLegendText = false

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes a: [String: String] = [:]) {
            let cls = a["class"] ?? ""
            stack.append(cls)
            func d(_ k: String) -> Double { Double(a[k] ?? "") ?? .nan }
            switch (name, cls) {
            case ("g", "panel"): panels.append(Panel(title: a["data-title"] ?? ""))
            case ("g", let c) where c.hasPrefix("axis "):
                axis = c.contains(" x") ? "x" : "y"
                if axis == "x" { panels[panels.count - 1].x.log = a["data-scale"] == "log" } else { panels[panels.count - 1].y.log = a["data-scale"] == "log" }
            case ("line", _) where stack.dropLast().last == "tick":
                tickPixel = axis == "x" ? d("x1") : d("y1")
            case ("text", _) where stack.dropLast().last == "tick" || stack.contains("legend"):
                text = ""
                inLegendText = stack.contains("legend")
            case ("path", "mark"):
                if let (x, y) = centre(a["d"] ?? "") {
                    panels[panels.count - 1].marks.append(Mark(series: a["data-series"] ?? "", x: a["data-x"] ?? "", cx: x, cy: y))
                }
            case ("line", "errorbar"), ("line", "interval"):
                panels[panels.count - 1].lines.append(Line(cls: cls, series: a["data-series"] ?? "", x: a["data-x"] ?? "",
                                                           x1: d("x1"), y1: d("y1"), x2: d("x2"), y2: d("y2")))
            case ("rect", "bar"):
                panels[panels.count - 1].bars.append(Bar(series: a["data-series"] ?? "", category: a["data-category"] ?? "",
                                                         x: d("x"), y: d("y"), width: d("width"), height: d("height")))
            default: break
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            let cls = stack.popLast() ?? ""
            if name == "text" && stack.last == "tick", let p = tickPixel, let v = SVGFigure.value(text.trimmingCharacters(in: .whitespaces)) {
                let t = Tick(pixel: p, value: v)
                if axis == "x" { panels[panels.count - 1].x.ticks.append(t) } else { panels[panels.count - 1].y.ticks.append(t) }
            }
            if name == "text" && inLegendText { legend.append(text); inLegendText = false }
            if name == "g" && cls.hasPrefix("axis ") { axis = nil }
        }
    }
}
