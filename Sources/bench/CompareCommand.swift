import ArgumentParser
import Foundation
import WalkBench

/// How large, how likely and how far above the noise floor a change must be to get a verdict: shared
/// by `compare`, `check` and `ab`.
struct VerdictLimits: ParsableArguments {
    @Option(parsing: .unconditional, help: "Smallest change, in percent, that can be a verdict (default 5).")
    var threshold: String?
    @Option(parsing: .unconditional, help: "Largest p-value after Holm's correction that can be a verdict (default 0.01).")
    var alpha: String?
    @Option(parsing: .unconditional, help: "Smallest change of a time, in nanoseconds, that can be a verdict (default 1).")
    var floor: String?

    func apply(to o: inout Comparison.Options) throws {
        o.threshold = try ComparisonOptions.positive(threshold, "threshold", 1000, "a percentage above 0, e.g. 5") ?? o.threshold
        o.alpha = try ComparisonOptions.positive(alpha, "alpha", 1, "a probability above 0 and at most 1, e.g. 0.01") ?? o.alpha
        if let floor {
            guard let v = Double(floor), v.isFinite, v >= 0 else { throw ValidationError("--floor: \"\(floor)\" is not allowed; use nanoseconds from 0, e.g. 1") }
            o.floorNanoseconds = v
        }
    }
}

/// The statistics options `compare` and `check` share.
struct ComparisonOptions: ParsableArguments {
    @OptionGroup var limits: VerdictLimits
    @Option(name: .customLong("unstable-threshold"), parsing: .unconditional, help: "Spread (robust CoV over processes, %) above which a cell is unstable (default 5).")
    var unstableThreshold: String?
    @Option(name: .customLong("min-samples"), parsing: .unconditional, help: "Fewest processes a side needs for a verdict (default 5).")
    var minSamples: String?
    @Option(help: "Strategy whose cost ns_over_reference subtracts, process by process (default none).")
    var reference: String?
    @Option(help: "Metrics to compare, comma-separated (default: all; see --help of check for the gated ones).")
    var metrics: String?
    @Flag(name: .customLong("allow-env-mismatch"), help: "Compare cells whose environments (CPU, kernel, mitigation, toolchain, build) differ.")
    var allowEnvMismatch = false
    @Option(help: "Output: text, md, csv or json (default text).")
    var format: String?
    @Flag(help: "Show every metric of every cell, not only changes and gated metrics.")
    var all = false

    static func positive(_ s: String?, _ name: String, _ limit: Double, _ what: String) throws -> Double? {
        guard let s else { return nil }
        guard let v = Double(s), v.isFinite, v > 0, v <= limit else { throw ValidationError("--\(name): \"\(s)\" is not allowed; use \(what)") }
        return v
    }

    func options() throws -> Comparison.Options {
        var o = Comparison.Options()
        try limits.apply(to: &o)
        o.unstableThreshold = try Self.positive(unstableThreshold, "unstable-threshold", 1000, "a percentage above 0, e.g. 5") ?? o.unstableThreshold
        if let minSamples {
            guard let n = Int(minSamples), (2...1000).contains(n) else { throw ValidationError("--min-samples: \"\(minSamples)\" is not allowed; use a whole number from 2") }
            o.minimumSamples = n
        }
        if let reference {
            guard Strategies.names.contains(reference) else {
                throw ValidationError("--reference: unknown strategy \"\(reference)\"; allowed: \(Strategies.names.joined(separator: ", "))")
            }
            o.reference = reference
        }
        o.metrics = try Self.metricList(metrics, option: "metrics") ?? Metric.all
        o.allowEnvironmentMismatch = allowEnvMismatch
        return o
    }

    static func metricList(_ s: String?, option: String) throws -> [Metric]? {
        guard let s else { return nil }
        return try s.split(separator: ",", omittingEmptySubsequences: false).map { name in
            guard let m = Metric.named(String(name)) else {
                throw ValidationError("--\(option): unknown metric \"\(name)\"; allowed: \(Metric.all.map(\.name).joined(separator: ", "))")
            }
            return m
        }
    }

    func outputFormat() throws -> ComparisonReport.Format {
        guard let format else { return .text }
        guard let f = ComparisonReport.Format(rawValue: format) else {
            throw ValidationError("--format: \"\(format)\" is not allowed; use text, md, csv or json")
        }
        return f
    }
}

/// A side of a comparison: a CSV file, or a baseline's file for the machine the other side ran on.
enum ComparisonInput {
    static func rows(_ arg: String, fingerprint: Fingerprint?, allowMismatch: Bool) throws -> [ResultRow] {
        if FileManager.default.fileExists(atPath: arg) || arg.contains("/") || arg.hasSuffix(".csv") {
            do { return try ResultTable.load(arg) } catch { throw UsageError(message: "\(error)") }
        }
        let baselines = Baselines()
        if let p = Baselines.problem(name: arg) { throw UsageError(message: "\(arg): no such file, and \(p)") }
        guard baselines.exists(name: arg) else { throw UsageError(message: "\(arg): no such file or baseline (bench baseline list shows the baselines)") }
        let fp = fingerprint ?? Fingerprint(RunEnvironment.capture(withRevision: false))
        do {
            let loaded = try baselines.load(name: arg, fingerprint: fp, anyFingerprint: allowMismatch)
            if let rows = loaded.rows { return rows }
            // No file for this environment: the baseline's rows all the same, so the cells report incomparable.
            var all: [ResultRow] = []
            for f in loaded.available { all += try ResultTable.load("\(baselines.directory)/\(arg)/\(f)") }
            return all
        } catch let e as ResultTable.BadInput { throw UsageError(message: e.description) }
    }
}

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two runs cell by cell: A (the base) and B (the candidate), CSV files or baseline names.",
        discussion: """
        Each metric of each cell matched in both: medians over processes (± robust CoV), the change, the \
        Hodges-Lehmann shift with its 95% interval, the Mann-Whitney U p-value after Holm's correction over \
        the cells of that metric, and a verdict: faster/slower (times), better/worse (counts), same, \
        unstable (spread above the threshold or disturbed), too few samples (under --min-samples processes \
        a side), only in A/B, incomparable (different environment or revision). callgrind's cg_ columns are \
        compared exactly. Exits 0 whatever the verdicts (bench check gates), 2 on bad input.
        """)

    @Argument(help: "The base: a CSV file or a baseline name.")
    var a: String
    @Argument(help: "The candidate: a CSV file or a baseline name.")
    var b: String
    @OptionGroup var comparison: ComparisonOptions

    func validate() throws {
        _ = try comparison.options()
        _ = try comparison.outputFormat()
    }

    func run() throws {
        let options = try comparison.options()
        let format = try comparison.outputFormat()
        let rowsB = try ComparisonInput.rows(b, fingerprint: nil, allowMismatch: options.allowEnvironmentMismatch)
        let rowsA = try ComparisonInput.rows(a, fingerprint: rowsB.first.map(Fingerprint.init), allowMismatch: options.allowEnvironmentMismatch)
        let c = Comparison(a: rowsA, b: rowsB, options: options)
        var ctx = ComparisonReport.Context(nameA: a, nameB: b)
        ctx.colour = format == .text && isatty(1) == 1
        ctx.all = comparison.all
        print(ComparisonReport.render(c, format: format, context: ctx), terminator: "")
    }
}
