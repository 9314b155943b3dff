import ArgumentParser
import WalkBench

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Strategies, walkers, workloads and geometries, one line each.")

    func run() {
        func section(_ title: String, _ items: [(String, String)]) {
            print(title)
            let w = items.map(\.0.count).max() ?? 0
            for (name, summary) in items { print("  \(name.padding(toLength: w, withPad: " ", startingAt: 0))  \(summary)") }
            print("")
        }
        print("strategies: (each with the kernels it stands for)")
        let w = Strategies.all.map(\.name.count).max() ?? 0
        for s in Strategies.all {
            print("  \(s.name.padding(toLength: w, withPad: " ", startingAt: 0))  \(s.summary)")
            print("  \(String(repeating: " ", count: w))  kernel: \(s.kernel)")
        }
        print("")
        section("walkers:", Walkers.names.map { n in (n, Walkers.all.first { $0.name == n }!.summary) })
        section("dispatch kinds (callback walker, --dispatch):", Dispatch.kinds.map { ($0.name, $0.summary) })
        section("workloads:", Workloads.builtIn.map { ($0.name, $0.summary) })
        section("geometries:", Geometry.presets.map { ($0.name, $0.summary) })
        section("validation scenarios (bench validate):", Validation.scenarios.map { ($0.name, $0.summary) })
    }
}

import Foundation
