import Foundation
@testable import WalkBench

/// Rows as `bench run` writes them, made up: one per (process, repetition), every column a
/// comparison reads filled in, the timing given.
enum Fixture {
    static func row(strategy: String = "none", workload: String = "read-mostly", readers: Int = 1, writers: Int = 0,
                    run: String = "run-a", process: Int = 1, processes: Int = 1, repetition: Int = 1,
                    nsPerWalk: Double, cpu: String = "Test CPU", strategyRevision: Int = 1,
                    set extra: [String: String] = [:]) -> ResultRow {
        var r = ResultRow()
        let values: [String: String] = [
            "run_id": run, "timestamp_utc": "2026-11-27T10:00:00Z", "host": "h", "cpu_model": cpu, "logical_cpus": "2",
            "kernel": "6.1.0", "spectre_v2": "Mitigation: Retpolines", "toolchain": "swift-6.3", "build": "release",
            "git_rev": "abc", "geometry": "x86-64-4l", "workload": workload, "strategy": strategy, "walker": "lookup",
            "dispatch": "n/a", "readers": String(readers), "writers": String(writers), "repetition": String(repetition),
            "duration_s": "0.08", "walks": "1000", "walks_per_s": String(Int(1e9 / nsPerWalk)),
            "ns_per_walk_p50": String(nsPerWalk), "ns_per_walk_mean": String(nsPerWalk), "writer_ops": "0",
            "tables_freed": "0", "tables_pending_peak": "0", "uaf_detected": "0", "oracle": "on",
            "bytes_pending_peak": "0", "take_ref": "on", "mapped_bytes": "1073741824", "density": "1",
            "huge_fraction": "0", "writer_delay_ns": "10000", "warmup_s": "0.02", "batch": "256", "seed": "24301",
            "window_delay_ns": "0", "batch_fail_rate": "0", "foreign_walkers": "no", "span_bytes": "2097152",
            "lazy_tlb": "n/a", "reader_idle_ns": "0", "lazy_walkers": "no", "process": String(process),
            "processes": String(processes), "extra_work": "0", "strategy_rev": String(strategyRevision), "walker_rev": "1",
            "workload_rev": "1", "disturbed": "no",
        ]
        for (k, v) in values.merging(extra, uniquingKeysWith: { $1 }) {
            if Columns.all.contains(k) { r[k] = v } else { r.setExtra(k, v) }
        }
        return r
    }

    /// One run: `processes` processes of each strategy, the ns per walk of process p from `ns(strategy, p)`.
    static func run(_ id: String, strategies: [String] = ["none"], processes: Int, cpu: String = "Test CPU",
                    ns: (String, Int) -> Double, set extra: [String: String] = [:]) -> [ResultRow] {
        strategies.flatMap { s in
            (1...processes).map { p in
                row(strategy: s, run: id, process: p, processes: processes, nsPerWalk: ns(s, p), cpu: cpu, set: extra)
            }
        }
    }

    /// A deterministic jitter of about ±`percent` % around 1 for process p (no generator: the same every run).
    static func jitter(_ p: Int, _ salt: Int = 0, percent: Double = 1) -> Double {
        let x = Double(((p &* 7919 &+ salt &* 104_729) % 97)) / 96  // 0...1, scattered
        return 1 + (x * 2 - 1) * percent / 100
    }
}
