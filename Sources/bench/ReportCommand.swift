import ArgumentParser
import Foundation
import WalkBench

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a report of result CSVs: SVG figures, report.md linking them, index.html embedding them.",
        discussion: """
        Figures: reader cost against walkers per strategy (one panel per workload, log scale, ± spread), free \
        wait and writer op latency against walkers, IPIs per op and bytes pending per strategy, ns per entry \
        by walker × dispatch; with --compare A B, the change per cell with its 95% interval and the verdicts \
        of bench compare, and its plain-text table (compare.txt). The environment and noise warnings head \
        the report; the commands that produced the data end it. DIR must be missing or empty unless --force; it is written \
        whole or not at all. Exit 0, or 2 on bad input (nothing written).
        """)

    @Argument(help: "Result CSVs to show (optional with --compare: then B's rows are shown).")
    var csvs: [String] = []
    @Option(parsing: .upToNextOption, help: "Compare A (the base) with B (the candidate): CSV files or baseline names.")
    var compare: [String] = []
    @Option(help: "The directory to write (report.md, index.html, the SVG figures).")
    var output: String?
    @Flag(help: "Replace --output if it exists and is not empty.")
    var force = false
    @OptionGroup var limits: VerdictLimits

    func validate() throws {
        guard let output else { throw ValidationError("--output DIR is required: the directory the report goes to") }
        guard compare.isEmpty || compare.count == 2 else {
            throw ValidationError("--compare takes two runs, A and B; got \(compare.count): \(compare.joined(separator: " "))")
        }
        guard !csvs.isEmpty || !compare.isEmpty else { throw ValidationError("no CSV given: name result CSVs, or --compare A B") }
        var o = Comparison.Options()
        try limits.apply(to: &o)
        if let problem = Report.problem(writing: output, replace: force) { throw ValidationError(problem) }
    }

    func run() throws {
        let start = Date()
        var rows: [ResultRow] = []
        for path in csvs {
            do { rows += try ResultTable.load(path, olderSchema: true) } catch { throw UsageError(message: "\(error)") }
        }
        var comparison: Report.ComparisonInput?
        if compare.count == 2 {
            var o = Comparison.Options()
            try limits.apply(to: &o)
            let rowsB = try ComparisonInput.rows(compare[1], fingerprint: nil, allowMismatch: false)
            let rowsA = try ComparisonInput.rows(compare[0], fingerprint: rowsB.first.map(Fingerprint.init), allowMismatch: false)
            comparison = .init(comparison: Comparison(a: rowsA, b: rowsB, options: o), nameA: compare[0], nameB: compare[1])
            if csvs.isEmpty { rows = rowsB }
        }
        let command = CommandLine.arguments.dropFirst().map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
        let files = Report.build(Report.Input(rows: rows, sources: csvs.isEmpty ? [compare[1]] : csvs, comparison: comparison, command: command))
        do { try Report.write(files, to: output!, replace: force) } catch let e as Report.WriteError {
            if case .exists = e { throw UsageError(message: "\(e)") }
            throw RunFailure(message: "\(e)", status: ExitStatus.resultsNotWritten)
        }
        let figures = files.filter { $0.name.hasSuffix(".svg") }.count
        warn(String(format: "bench report: %@/index.html and report.md, %d figure%@ (%.2f s)", output!, figures, figures == 1 ? "" : "s", Date().timeIntervalSince(start)))
    }
}
