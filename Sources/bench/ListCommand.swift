import ArgumentParser
import WalkBench

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Strategies, walkers, workloads and geometries, one line each.")

    @Option(name: .customLong("workload-file"), help: "A JSON workload file (repeatable): its workloads are listed with the built-ins, as `bench run --workload-file` would define them.")
    var workloadFiles: [String] = []

    func validate() throws {
        do { _ = try WorkloadFile.loadAll(workloadFiles) } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        let fromFiles = try WorkloadFile.loadAll(workloadFiles)
        func section(_ title: String, _ items: [(String, String)]) {
            print(title)
            let w = items.map(\.0.count).max() ?? 0
            for (name, summary) in items { print("  \(name.padding(toLength: w, withPad: " ", startingAt: 0))  \(summary)") }
            print("")
        }
        print("strategies: (each with the kernels it stands for; [by name]: not in the default suite, name it with --strategies)")
        let w = Strategies.all.map(\.name.count).max() ?? 0
        for s in Strategies.all {
            let byName = !s.inDefaultSuite && !s.validationOnly ? " [by name]" : ""
            print("  \(s.name.padding(toLength: w, withPad: " ", startingAt: 0))  \(s.summary)\(byName)")
            print("  \(String(repeating: " ", count: w))  kernel: \(s.kernel)")
        }
        print("")
        section("walkers:", Walkers.names.map { n in
            let info = Walkers.all.first { $0.name == n }!
            return (n, info.summary + (info.validationOnly ? " [validation only]" : "") + (info.takesPTELock ? " [takes the PTE lock]" : ""))
        })
        section("dispatch kinds (callback walkers, --dispatch):", Dispatch.kinds.map { ($0.name, $0.summary) })
        section("workloads: ([by name]: not in the default suite, name it with --workloads)",
                Workloads.kinds.map { k in (k.preset.name, k.preset.summary + (k.inDefaultSuite ? "" : " [by name]")) }
                    + fromFiles.map { w in (w.name, "\(w.summary) [kind \(w.kind); from --workload-file]") })
        section("geometries:", Geometry.presets.map { ($0.name, $0.summary) })
        section("validation scenarios (bench validate):", Validation.scenarios.map { ($0.name, $0.summary) })
        section("validation-only strategy names (bench validate --strategies; no walker runs them):",
                Validation.litmusOnlyStrategies.map { ($0.name, $0.summary) })
    }
}

import Foundation
