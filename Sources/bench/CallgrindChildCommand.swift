import ArgumentParser
import Foundation
import WalkBench

/// `bench callgrind-child --key value ...`: the process `bench run --callgrind` runs under valgrind, one
/// per scenario. Not for direct use (hidden from help): it builds one scenario's address space and
/// strategy, counts a fixed number of walks between two callgrind collection toggles, and prints one
/// line, `walks=N leaves=N uaf=N retries=N valgrind=0|1`. The arguments are
/// `Callgrind.ChildRequest.arguments`; see Sources/WalkBench/Counters/Callgrind.swift.
struct CallgrindChildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: Callgrind.childCommand,
        abstract: "Internal: the counted walks `bench run --callgrind` runs under valgrind.",
        shouldDisplay: false)

    @Argument(parsing: .captureForPassthrough, help: "--key value pairs (Callgrind.ChildRequest).")
    var arguments: [String] = []

    func run() throws {
        let request: Callgrind.ChildRequest
        do { request = try Callgrind.ChildRequest(arguments: arguments) } catch { throw UsageError(message: "\(error)") }
        let report: Callgrind.ChildReport
        do { report = try Callgrind.runChild(request) } catch { throw RunFailure(message: "\(Callgrind.childCommand): \(error)") }
        print(report.line)
    }
}
