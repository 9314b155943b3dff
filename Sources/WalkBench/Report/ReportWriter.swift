#if canImport(Glibc)
import Glibc
#endif
import CWalkSupport
import Foundation

/// `bench report`: the figures, a markdown report linking them, an HTML page embedding them, and
/// (with a comparison) the plain-text comparison of `bench compare --format text`.
public enum Report {
    public struct ComparisonInput: Sendable {
        public var comparison: Comparison
        public var nameA: String
        public var nameB: String
        public init(comparison: Comparison, nameA: String, nameB: String) {
            self.comparison = comparison; self.nameA = nameA; self.nameB = nameB
        }
    }

    public struct Input: Sendable {
        /// The rows the figures show.
        public var rows: [ResultRow]
        /// Where they came from (file names), for the report's header.
        public var sources: [String]
        public var comparison: ComparisonInput?
        /// The command line that made this report.
        public var command: String
        public init(rows: [ResultRow], sources: [String], comparison: ComparisonInput? = nil, command: String) {
            self.rows = rows; self.sources = sources; self.comparison = comparison; self.command = command
        }
    }

    /// A file of the report: its name inside the directory and its contents.
    public struct File: Sendable {
        public var name: String
        public var contents: String
    }

    /// Every file of the report, in memory.
    public static func build(_ input: Input) -> [File] {
        var files: [File] = []
        // Grouping 20,000 rows into cells is most of a report's time: once, for every part.
        let cells = groupCells(input.rows)
        var figures = Figures.all(cells)
        var compareText: String?
        if let c = input.comparison {
            // The comparison first: it is what a reader of a comparison came for.
            if let f = Figures.comparison(c.comparison) { figures.insert(("compare.svg", f), at: 0) }
            // bench compare's default selection (changes and gated metrics): --all buries the figures.
            let ctx = ComparisonReport.Context(nameA: c.nameA, nameB: c.nameB)
            compareText = ComparisonReport.render(c.comparison, format: .text, context: ctx)
            files.append(File(name: "compare.txt", contents: compareText!))
        }
        for (name, fig) in figures { files.append(File(name: name, contents: SVGPlot.render(fig))) }
        let env = environment(input.rows, cells: cells)
        let commands = commandsThatProduced(input.rows) + ["bench " + input.command]
        files.append(File(name: "report.md", contents: markdown(input, env: env, figures: figures, compareText: compareText, commands: commands)))
        files.append(File(name: "index.html", contents: html(input, env: env, figures: figures, compareText: compareText, commands: commands)))
        return files
    }

    // MARK: - What the report says about the data

    /// (label, value) lines about the machine and the build, then the noise warnings.
    static func environment(_ rows: [ResultRow], cells: [CellSamples]) -> (facts: [(String, String)], warnings: [String]) {
        func values(_ c: String) -> String {
            let vs = Figures.ordered(rows.compactMap { $0[c] }.filter { !$0.isEmpty })
            return vs.isEmpty ? "unknown" : vs.joined(separator: "; ")
        }
        var facts: [(String, String)] = [
            ("cpu", values("cpu_model") + " (\(values("logical_cpus")) logical CPUs, SMT \(values("smt")))"),
            ("kernel", values("kernel")),
            ("spectre_v2 mitigation", values("spectre_v2")),
            ("git rev", values("git_rev")),
            ("toolchain, build", values("toolchain") + ", " + values("build")),
            ("host", values("host")),
            ("runs", values("run_id")),
        ]
        facts.append(("rows, cells", "\(rows.count) rows, \(cells.count) cells"))
        var warnings: [String] = []
        if rows.contains(where: { $0["build"] == "debug" }) { warnings.append("debug build: its timings mean little; measure with a release build") }
        for v in Figures.ordered(rows.compactMap { $0["preflight"] }) where !v.isEmpty && !v.hasPrefix("quiet") {
            warnings.append("preflight: \(v)")
        }
        let governors = Set(rows.compactMap { $0["governor"] }).subtracting(["performance", "none", ""])
        if !governors.isEmpty { warnings.append("frequency governor \(governors.sorted().joined(separator: ", ")), not performance") }
        if rows.contains(where: { ($0["pinning"] ?? "").contains("oversubscribed") }) {
            warnings.append("some cells ran more threads than CPUs (pinning=oversubscribed): a walker can be preempted inside its window")
        }
        if let note = Summary.stabilityNote(rows, cells: cells) { warnings.append(note.replacingOccurrences(of: "note: ", with: "")) }
        if let sv = rows.first?["spectre_v2"], let note = Summary.mitigationNote(rows, spectreV2: sv) {
            warnings.append(note.replacingOccurrences(of: "note: ", with: ""))
        }
        if !rows.contains(where: { $0["process"] != nil }) {
            warnings.append("written by an older bench (no process column): each cell is one process, so its error bars are the spread over repetitions")
        }
        return (facts, warnings)
    }

    /// A `bench run` line per run, rebuilt from the rows' parameters (the CSV does not keep the command
    /// line): it selects at least the cells shown.
    static func commandsThatProduced(_ rows: [ResultRow]) -> [String] {
        let runs = Figures.ordered(rows.map { $0["run_id"] ?? "" })
        let byRun = Dictionary(grouping: rows) { $0["run_id"] ?? "" }
        return runs.map { id in
            let rs = byRun[id]!
            func list(_ c: String) -> String { Figures.ordered(rs.compactMap { $0[c] }.filter { !$0.isEmpty && $0 != "n/a" }).joined(separator: ",") }
            var cmd = "bench run --strategies \(list("strategy")) --workloads \(list("workload")) --walkers \(list("walker"))"
            if !list("dispatch").isEmpty { cmd += " --dispatch \(list("dispatch"))" }
            if list("geometry") != "x86-64-4l" { cmd += " --geometry \(list("geometry"))" }
            cmd += " --readers \(list("readers"))"
            // --writers only where some cell did not run its workload's own count: a list would cross
            // every workload with every count, selecting cells the run never had.
            let ownWriters = rs.allSatisfy { r in Workloads.named(r["workload"] ?? "").map { String($0.writers) } == r["writers"] }
            if !ownWriters { cmd += " --writers \(list("writers"))" }
            let lazy = Set(rs.compactMap { $0["lazy_tlb"] }).subtracting(["n/a"])
            if lazy.contains("on") { cmd += " --lazy-tlb \(lazy.sorted().joined(separator: ","))" }
            if rs.contains(where: { $0["oracle"] == "off" }) { cmd += " --no-oracle" }
            if rs.contains(where: { $0["take_ref"] == "off" }) { cmd += " --no-take-ref" }
            if rs.contains(where: { $0["pt_reclaim"] == "on" }) { cmd += " --pt-reclaim" }
            if let span = rs.first?["span_bytes"], span != "2097152" { cmd += " --span \(span)" }
            if let w = rs.first?["extra_work"], w != "0" { cmd += " --extra-work \(w)" }
            let processes = rs.first?["processes"] ?? "1"
            let reps = Set(rs.compactMap { $0["repetition"] }).count
            let duration = Statistics.median(rs.compactMap { $0["duration_s"].flatMap(Double.init) }) ?? 0
            // duration_s is the time measured, a little over the time asked for (0.0821 for 0.08).
            cmd += " --processes \(processes) --repetitions \(reps) --duration \(ResultRow.number(duration, digits: duration < 0.05 ? 3 : 2)!)"
            if let w = rs.first?["warmup_s"] { cmd += " --warmup \(w)" }
            let when = rs.first?["timestamp_utc"] ?? ""
            return cmd + "    # run \(id)\(when.isEmpty ? "" : ", \(when)") (rebuilt from its rows: it selects at least these cells)"
        }
    }

    /// Why a figure the report can draw is not there, so its absence is not read as a bug.
    static let whyMissing: [String: String] = [
        "reader-cost.svg": "no reader cost: no row has ns_per_walk_mean",
        "writer-latency.svg": "no writer figures: no cell has writers (read-mostly alone, or --writers 0)",
        "ipis-bytes.svg": "no IPI or bytes-pending figure: no cell has writers",
        "ns-per-entry.svg": "no ns-per-entry figure: no range walker (callback, range, iterator) was run; the default suite runs lookup only (add --walkers lookup,callback,range,iterator)",
    ]

    static func missing(_ figures: [(name: String, figure: SVGPlot.Figure)]) -> [String] {
        ["reader-cost.svg", "writer-latency.svg", "ipis-bytes.svg", "ns-per-entry.svg"].filter { n in !figures.contains { $0.name == n } }.map { whyMissing[$0]! }
    }

    static let captions: [String: String] = [
        "reader-cost.svg": "Reader cost per strategy against the number of walker threads, one panel per workload, log scale. Each point is the cell's median over its samples (processes); the bar is ± its robust spread (1.4826 × MAD), the same spread `bench compare` and the summary use.",
        "writer-latency.svg": "Writers: the wait from retiring a table to freeing it (free wait) and a writer operation's latency, p50, against the walkers (each a CPU in the mm's cpumask), log scale.",
        "ipis-bytes.svg": "IPIs sent per writer operation and the peak bytes of tables awaiting free, per strategy, at each workload's largest walker count (bytes on a log scale; a 0 is written where a bar cannot be).",
        "ns-per-entry.svg": "Range walkers: ns per page found, by walker and dispatch; vermillion bars call each hook through a retpoline thunk, blue ones call it plainly.",
        "compare.svg": "Change of B against A per cell, with the 95 % interval of the Hodges–Lehmann shift, coloured by the verdict of `bench compare` (the same statistics); regressions are highlighted.",
    ]

    static func markdown(_ input: Input, env: (facts: [(String, String)], warnings: [String]), figures: [(name: String, figure: SVGPlot.Figure)],
                         compareText: String?, commands: [String]) -> String {
        var s = "# walkbench report\n\n"
        s += "Data: " + input.sources.map { "`\($0)`" }.joined(separator: ", ") + "\n\n"
        s += "## Environment\n\n| | |\n|---|---|\n"
        for (k, v) in env.facts { s += "| \(k) | \(v.replacingOccurrences(of: "|", with: "\\|")) |\n" }
        s += "\n"
        if env.warnings.isEmpty { s += "Noise: no warnings.\n\n" } else {
            s += "**Noise warnings**\n\n" + env.warnings.map { "- \($0)\n" }.joined() + "\n"
        }
        if let c = input.comparison {
            s += "## Comparison: A = `\(c.nameA)`, B = `\(c.nameB)`\n\n"
            let regressions = c.comparison.entries.filter { $0.verdict.isRegression }
            s += regressions.isEmpty ? "No regressions.\n\n" : "**\(regressions.count) regression\(regressions.count == 1 ? "" : "s")**: "
                + regressions.prefix(10).map { "\($0.cell.label) \($0.metric?.name ?? "") \(ComparisonReport.change($0))" }.joined(separator: "; ")
                + (regressions.count > 10 ? "; ..." : "") + "\n\n"
            s += "Plain text for a mailing list (`bench compare A B --format text`, also in `compare.txt`):\n\n```\n\(compareText ?? "")```\n\n"
        }
        s += "## Figures\n\n"
        for (name, fig) in figures {
            s += "### \(fig.title)\n\n![\(fig.title)](\(name))\n\n\(captions[name] ?? "")\n\n"
        }
        for why in missing(figures) { s += "_Not drawn_: \(why).\n\n" }
        s += "## Commands that produced the data\n\n```sh\n" + commands.joined(separator: "\n") + "\n```\n"
        return s
    }

    static func h(_ s: String) -> String { SVGPlot.esc(s) }

    static func html(_ input: Input, env: (facts: [(String, String)], warnings: [String]), figures: [(name: String, figure: SVGPlot.Figure)],
                     compareText: String?, commands: [String]) -> String {
        var s = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>walkbench report</title>
        <style>
        body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1100px; color: #111; line-height: 1.4; }
        table.env { border-collapse: collapse; margin-bottom: 12px; }
        table.env td { border-bottom: 1px solid #ddd; padding: 3px 12px 3px 0; vertical-align: top; }
        table.env td:first-child { font-weight: bold; white-space: nowrap; }
        .warnings { background: #fff4e0; border-left: 4px solid #E69F00; padding: 6px 14px; }
        .regressions { background: #fbe5da; border-left: 4px solid #D55E00; padding: 6px 14px; }
        pre { background: #f6f6f6; padding: 10px; overflow-x: auto; font-size: 12px; }
        pre.commands { white-space: pre-wrap; word-break: break-all; }
        figure { margin: 24px 0; } figure img { max-width: 100%; border: 1px solid #eee; }
        figcaption { font-size: 14px; color: #333; margin-top: 4px; }
        </style></head><body>
        <h1>walkbench report</h1>

        """
        s += "<p>Data: " + input.sources.map { "<code>\(h($0))</code>" }.joined(separator: ", ") + "</p>\n"
        s += "<h2>Environment</h2>\n<table class=\"env\">\n"
        for (k, v) in env.facts { s += "<tr><td>\(h(k))</td><td>\(h(v))</td></tr>\n" }
        s += "</table>\n"
        if env.warnings.isEmpty { s += "<p>Noise: no warnings.</p>\n" } else {
            s += "<div class=\"warnings\"><b>Noise warnings</b><ul>" + env.warnings.map { "<li>\(h($0))</li>" }.joined() + "</ul></div>\n"
        }
        if let c = input.comparison {
            s += "<h2>Comparison: A = <code>\(h(c.nameA))</code>, B = <code>\(h(c.nameB))</code></h2>\n"
            let regressions = c.comparison.entries.filter { $0.verdict.isRegression }
            s += regressions.isEmpty ? "<p>No regressions.</p>\n" : "<div class=\"regressions\"><b>\(regressions.count) regression\(regressions.count == 1 ? "" : "s")</b><ul>"
                + regressions.prefix(20).map { "<li>\(h($0.cell.label)) \(h($0.metric?.name ?? "")) \(h(ComparisonReport.change($0)))</li>" }.joined() + "</ul></div>\n"
            let lines = (compareText ?? "").split(separator: "\n").count
            s += "<details><summary>Plain text for a mailing list (<code>bench compare A B --format text</code>, \(lines) lines, also in <a href=\"compare.txt\">compare.txt</a>)</summary>\n<pre>\(h(compareText ?? ""))</pre></details>\n"
        }
        s += "<h2>Figures</h2>\n"
        for (name, fig) in figures {
            s += "<figure><img src=\"\(h(name))\" alt=\"\(h(fig.title))\"><figcaption>\(h(captions[name] ?? ""))</figcaption></figure>\n"
        }
        for why in missing(figures) { s += "<p><i>Not drawn</i>: \(h(why)).</p>\n" }
        s += "<h2>Commands that produced the data</h2>\n<pre class=\"commands\">\(h(commands.joined(separator: "\n")))</pre>\n</body></html>\n"
        return s
    }

    // MARK: - Writing the directory

    public enum WriteError: Error, CustomStringConvertible {
        case exists(String)
        case system(String)
        public var description: String {
            switch self {
            case .exists(let p): return "\(p) exists and is not empty; pass --force to replace it"
            case .system(let m): return m
            }
        }
    }

    /// Why `dir` cannot take a report, or nil: its parent must exist and take new entries, and `dir`
    /// must be missing, an empty directory, or (with `replace`) any directory.
    public static func problem(writing dir: String, replace: Bool) -> String? {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) {
            guard isDir.boolValue else { return "output \(dir) is a file; name a directory" }
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            if !entries.isEmpty && !replace { return "output directory \(dir) exists and is not empty; pass --force to replace it" }
        }
        let parent = parentOf(dir)
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDir), isDir.boolValue else {
            return "output directory's parent \(parent) does not exist"
        }
        let probe = parent + "/.probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard mkdir(probe, 0o755) == 0 else { return "cannot create directories in \(parent): \(String(cString: strerror(errno)))" }
        rmdir(probe)
        return nil
    }

    static func parentOf(_ dir: String) -> String {
        var d = dir
        while d.count > 1 && d.hasSuffix("/") { d.removeLast() }
        let p = (d as NSString).deletingLastPathComponent
        return p.isEmpty ? "." : p
    }

    /// Writes the files into a fresh directory beside `dir`, then renames it into place: a reader sees
    /// the old report or the new one, never half of one. An existing `dir` is replaced only when
    /// empty or with `replace`.
    public static func write(_ files: [File], to dir: String, replace: Bool) throws {
        var d = dir
        while d.count > 1 && d.hasSuffix("/") { d.removeLast() }
        let parent = parentOf(d), base = (d as NSString).lastPathComponent
        let tmp = "\(parent)/.\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard mkdir(tmp, 0o755) == 0 else { throw WriteError.system("cannot create \(tmp): \(String(cString: strerror(errno)))") }
        var done = false
        defer { if !done { try? FileManager.default.removeItem(atPath: tmp) } }
        for f in files { try ResultFile.write(f.contents, to: "\(tmp)/\(f.name)", replace: false) }
        if wb_rename_noreplace(tmp, d) == 0 {
            done = true
            return
        }
        guard errno == EEXIST || errno == ENOTEMPTY else { throw WriteError.system("cannot rename \(tmp) to \(d): \(String(cString: strerror(errno)))") }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: d)) ?? []
        guard replace || entries.isEmpty else { throw WriteError.exists(d) }
        // Swap the old directory aside, the new one in, then remove the old one.
        let old = "\(parent)/.\(base).old-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard rename(d, old) == 0 else { throw WriteError.system("cannot move \(d) aside: \(String(cString: strerror(errno)))") }
        guard rename(tmp, d) == 0 else {
            let e = errno
            _ = rename(old, d)
            throw WriteError.system("cannot rename \(tmp) to \(d): \(String(cString: strerror(e)))")
        }
        done = true
        try? FileManager.default.removeItem(atPath: old)
    }
}
