import ArgumentParser
import Foundation
import WalkBench

/// Output formats other tools read. `bench run --format` and `bench export --format` share them.
enum ExportFormat: String, CaseIterable {
    case gbenchJSON = "gbench-json"

    static func parse(_ s: String, option: String = "format") throws -> ExportFormat {
        guard let f = ExportFormat(rawValue: s) else {
            throw ValidationError("--\(option): \"\(s)\" is not allowed; use \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return f
    }

    /// The machine facts a gbench context holds beyond the rows: this machine's when the rows are its own.
    static func machine(for rows: [ResultRow]) -> GBenchJSON.Machine? {
        let here = RunEnvironment.capture(withRevision: false)
        guard let first = rows.first, first["host"] == here.host, first["cpu_model"] == here.cpuModel else { return nil }
        return .current()
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write result CSVs in another tool's format: gbench-json (Google Benchmark's JSON, for its compare.py).",
        discussion: """
        gbench-json: a context (date, host, num_cpus, mhz_per_cpu, caches where known, library_build_type) and \
        one benchmarks entry per cell and repetition, named strategy/walker/workload/readers:N/writers:M/..., \
        real_time and cpu_time in ns per walk, iterations = walks, the counters (uaf_detected, ipis_per_op, \
        free_wait_us_p50, cg_ columns, ...) as user counters, and the mean, median, stddev and cv aggregates. \
        Writes to stdout unless --output. Exit 0, or 2 on bad input (nothing written).
        """)

    @Argument(help: "Result CSVs.")
    var csvs: [String] = []
    @Option(help: "Output format: gbench-json.")
    var format: String
    @Option(help: "File to write (default: stdout); an existing file is refused unless --force.")
    var output: String?
    @Flag(help: "Replace --output if it exists.")
    var force = false

    func validate() throws {
        _ = try ExportFormat.parse(format)
        guard !csvs.isEmpty else { throw ValidationError("no CSV given: name the result CSVs to export") }
        if let output, let problem = ResultFile.problem(writing: output, replace: force) { throw ValidationError(problem) }
    }

    func run() throws {
        var rows: [ResultRow] = []
        for path in csvs {
            do { rows += try ResultTable.load(path, olderSchema: true) } catch { throw UsageError(message: "\(error)") }
        }
        let text = GBenchJSON.render(rows, machine: ExportFormat.machine(for: rows))
        guard let output else {
            print(text, terminator: "")
            return
        }
        do { try ResultFile.write(text, to: output, replace: force) } catch let e as ResultFile.WriteError {
            if case .exists = e { throw UsageError(message: "\(e)") }
            throw RunFailure(message: "\(e)", status: ExitStatus.resultsNotWritten)
        }
    }
}
