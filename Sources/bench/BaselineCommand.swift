import ArgumentParser
import Foundation
import WalkBench

struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Save and list named reference runs (results/baselines/NAME/<fingerprint>.csv).",
        subcommands: [Save.self, List.self])

    struct Save: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Save runs as baseline NAME, one file per machine fingerprint (CPU, CPUs, kernel, mitigation, toolchain, build).")

        @Argument(help: "The baseline's name: letters, digits, '-', '_', '.'.")
        var name: String
        @Argument(help: "CSV files to save (default: the newest run in results/runs/).")
        var files: [String] = []
        @Flag(help: "Replace an existing baseline file of the same name and fingerprint.")
        var force = false

        func validate() throws {
            if let p = Baselines.problem(name: name) { throw ValidationError(p) }
        }

        func run() throws {
            var paths = files
            if paths.isEmpty {
                guard let newest = newestRun() else {
                    throw UsageError(message: "no CSV named and none in results/runs/; run `bench run` first or name files")
                }
                paths = [newest]
            }
            var rows: [ResultRow] = []
            do { for p in paths { rows += try ResultTable.load(p) } } catch { throw UsageError(message: "\(error)") }
            let store = Baselines()
            let planned: [(path: String, rows: [ResultRow])]
            do { planned = try store.plan(name: name, rows: rows, force: force) } catch { throw UsageError(message: "\(error)") }
            do { try store.save(planned, force: force) } catch { throw RunFailure(message: "could not save: \(error)") }
            for (p, r) in planned {
                print("saved \(p): \(r.count) rows, \(Set(r.map(CellKey.init)).count) cells, \(Set(r.map { "\($0["run_id"] ?? "")#\($0["process"] ?? "1")" }).count) processes, from \(paths.joined(separator: ", "))")
            }
        }

        func newestRun() -> String? {
            let dir = "results/runs"
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".csv") && !$0.hasPrefix(".") }
            // Run files are named by their UTC start, so the newest sorts last.
            return names.sorted().last.map { "\(dir)/\($0)" }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the baselines and the machines they hold.")

        func run() throws {
            let entries: [Baselines.Entry]
            do { entries = try Baselines().list() } catch { throw UsageError(message: "\(error)") }
            guard !entries.isEmpty else {
                print("no baselines in results/baselines (save one with: bench baseline save NAME [CSV...])")
                return
            }
            let here = Fingerprint(RunEnvironment.capture(withRevision: false)).id
            for e in entries {
                print("\(e.name)  \(e.fingerprintID)\(e.fingerprintID == here ? " (this machine)" : "")  \(e.rows) rows, \(e.cells) cells, \(e.processes) processes, git \(e.gitRevisions.joined(separator: ",")), \(e.timestamps.first ?? "")")
            }
        }
    }
}
