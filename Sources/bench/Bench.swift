import ArgumentParser
import Foundation
import WalkBench

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "What a lockless page-table walk costs under each way of keeping table pages alive.",
        subcommands: [RunCommand.self, ListCommand.self, ValidateCommand.self, CompareCommand.self, CheckCommand.self, ABCommand.self,
                      ReportCommand.self, ExportCommand.self,
                      BaselineCommand.self, CallgrindChildCommand.self],
        defaultSubcommand: RunCommand.self)

    /// Exit statuses: see `ExitStatus`. Bad input exits 2 with one line; --help exits 0.
    static func main() {
        if let name = repeatedOption(Array(CommandLine.arguments.dropFirst())) {
            FileHandle.standardError.write(Data("bench: --\(name) is given more than once; give it once (options that take lists take them comma-separated)\n".utf8))
            Foundation.exit(2)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch let error as UsageError {
            FileHandle.standardError.write(Data("bench: \(error.message)\n".utf8))
            Foundation.exit(2)
        } catch let error as RunFailure {
            FileHandle.standardError.write(Data("bench: \(error.message)\n".utf8))
            Foundation.exit(error.status)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            // Parse and validation errors: one line naming the bad value, status 2.
            let message = message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
            FileHandle.standardError.write(Data("bench: \(message)\n".utf8))
            Foundation.exit(2)
        }
    }
}

extension Bench {
    /// Options that may be given several times (array options).
    static let repeatableOptions: Set<String> = ["workload-file", "candidate"]

    /// The first option given twice. The argument parser would keep the last value silently, and a
    /// user who wrote both meant both (`--case a --case b` ran only b).
    static func repeatedOption(_ arguments: [String]) -> String? {
        var seen = Set<String>()
        for a in arguments {
            if a == "--" { break }
            guard a.hasPrefix("--"), a.count > 2 else { continue }
            let name = String(a.dropFirst(2).split(separator: "=", maxSplits: 1)[0])
            if repeatableOptions.contains(name) { continue }
            if !seen.insert(name).inserted { return name }
        }
        return nil
    }
}

/// Bad input found after parsing (an output file that exists, say): exit 2, nothing written.
struct UsageError: Error { let message: String }
/// The run ran but must not pass: exit with `status` (1 unless said otherwise; see `ExitStatus`).
struct RunFailure: Error {
    let message: String
    var status: Int32 = ExitStatus.failed
}

/// What bench's exit status means (README, "Exit statuses"). Each code means one thing, so a CI gate
/// can tell a safety failure from a lost file or an interrupted run.
enum ExitStatus {
    static let ok: Int32 = 0
    /// run: a strategy that promises safety showed a use-after-free; validate: a verdict differs from
    /// the expected one; check/ab: a regression (or that use-after-free).
    static let failed: Int32 = 1
    /// Bad input: one line on stderr, nothing measured, nothing written.
    static let badInput: Int32 = 2
    /// check/ab: nothing comparable; validate: a cell got no pressure (no table freed) within its bound.
    static let nothingComparable: Int32 = 3
    /// The results file could not be written at the end; the CSV went to stdout instead.
    static let resultsNotWritten: Int32 = 4
    /// A measurement failed (a scenario's error, a measuring process that crashed); the rest was written.
    static let measurementFailed: Int32 = 5
    /// Stopped by a signal (128 + its number: 130 for SIGINT, 143 for SIGTERM) after writing the cells
    /// already finished.
    static func stopped(by signal: Int32) -> Int32 { 128 + signal }
}

func warn(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
