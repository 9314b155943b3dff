import ArgumentParser
import Foundation
import WalkBench

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "What a lockless page-table walk costs under each way of keeping table pages alive.",
        subcommands: [RunCommand.self, ListCommand.self, ValidateCommand.self, CompareCommand.self, CheckCommand.self, ABCommand.self,
                      BaselineCommand.self, CallgrindChildCommand.self],
        defaultSubcommand: RunCommand.self)

    /// Bad input exits 2 with one line; --help exits 0; anything else that fails exits 1.
    static func main() {
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
            Foundation.exit(1)
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

/// Bad input found after parsing (an output file that exists, say): exit 2, nothing written.
struct UsageError: Error { let message: String }
/// The run ran but must not pass (a strategy that claims safety showed use-after-free): exit 1.
struct RunFailure: Error { let message: String }

func warn(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
