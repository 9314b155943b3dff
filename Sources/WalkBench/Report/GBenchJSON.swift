import Foundation

/// Result rows as Google Benchmark's JSON (`--benchmark_format=json`), so its tools (compare.py) and
/// dashboards that read that format take walkbench runs: a `context`, then per cell one `iteration`
/// entry per row (each process × repetition) and, for cells with two rows or more, the `mean`,
/// `median`, `stddev` and `cv` aggregates as Google Benchmark computes them (sample standard deviation;
/// cv = stddev / mean, as a fraction).
///
/// real_time and cpu_time are both ns per walk (batch mean): walkers are pinned threads that spin, so
/// their CPU time is their wall time. `iterations` is the walks timed.
public enum GBenchJSON {
    /// What the context says about the machine beyond the rows: frequency and caches, known only for
    /// the machine this process runs on.
    public struct Machine: Sendable {
        public var mhzPerCPU: Int?
        public var caches: [Cache]
        public struct Cache: Sendable {
            public var type: String
            public var level: Int
            public var size: Int
            public var numSharing: Int
        }
        public init(mhzPerCPU: Int?, caches: [Cache]) { self.mhzPerCPU = mhzPerCPU; self.caches = caches }

        /// This machine, from /proc/cpuinfo and /sys/devices/system/cpu/cpu0/cache.
        public static func current() -> Machine {
            let cpuinfo = RunEnvironment.read("/proc/cpuinfo") ?? ""
            let mhz = RunEnvironment.field("cpu MHz", in: cpuinfo).flatMap(Double.init).map { Int($0.rounded()) }
            var caches: [Cache] = []
            for i in 0..<16 {
                let d = "/sys/devices/system/cpu/cpu0/cache/index\(i)"
                guard let type = RunEnvironment.read("\(d)/type"), let level = RunEnvironment.read("\(d)/level").flatMap(Int.init),
                      let sizeText = RunEnvironment.read("\(d)/size") else { break }
                caches.append(Cache(type: type, level: level, size: bytes(sizeText) ?? 0,
                                    numSharing: cpuCount(RunEnvironment.read("\(d)/shared_cpu_list") ?? "")))
            }
            return Machine(mhzPerCPU: mhz, caches: caches)
        }

        /// "32K" → 32768.
        static func bytes(_ s: String) -> Int? {
            let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
            if let u = s.last, let m = units[u] { return Int(s.dropLast()).map { $0 * m } }
            return Int(s)
        }

        /// "0-3,8" → 5.
        static func cpuCount(_ list: String) -> Int {
            list.split(separator: ",").reduce(0) { n, part in
                let ends = part.split(separator: "-").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                return n + (ends.count == 2 ? ends[1] - ends[0] + 1 : ends.count)
            }
        }
    }

    /// The CSV columns a benchmark name always spells out, in its order.
    static let nameColumns = ["strategy", "walker", "workload", "readers", "writers"]

    /// `strategy/walker/workload/readers:N/writers:M`, then what sets the cell apart where it is not the
    /// suite's usual (dispatch, lazy TLB, PT_RECLAIM, geometry, oracle off, no page reference), then
    /// `column:value` for any other cell column that tells apart cells which would otherwise share a
    /// name (batch_fail_rate, 0 for RCU strategies and n/a for the rest, tells nothing apart).
    static func names(_ keys: [CellKey]) -> [CellKey: String] {
        let fixed: Set<String> = Set(nameColumns + ["dispatch", "lazy_tlb", "pt_reclaim", "geometry", "oracle", "take_ref"])
        func base(_ k: CellKey) -> String {
            var n = "\(k.value("strategy"))/\(k.value("walker"))/\(k.value("workload"))/readers:\(k.value("readers"))/writers:\(k.value("writers"))"
            if k.value("dispatch") != "n/a" && !k.value("dispatch").isEmpty { n += "/dispatch:\(k.value("dispatch"))" }
            let lazy = k.value("lazy_tlb")
            if lazy != "n/a" && lazy != "off" && !lazy.isEmpty { n += "/lazy_tlb:\(lazy)" }
            if k.value("pt_reclaim") == "on" { n += "/pt_reclaim:on" }
            if k.value("geometry") != "x86-64-4l" { n += "/geometry:\(k.value("geometry"))" }
            if k.value("oracle") == "off" { n += "/oracle:off" }
            if k.value("take_ref") == "off" { n += "/take_ref:off" }
            return n
        }
        let groups = Dictionary(grouping: keys, by: base)
        var out: [CellKey: String] = [:]
        for (name, ks) in groups {
            let varying = CellKey.columns.filter { c in !fixed.contains(c) && Set(ks.map { $0.value(c) }).count > 1 }
            for k in ks { out[k] = name + varying.map { "/\($0):\(k.value($0))" }.joined() }
        }
        return out
    }

    /// A row's user counters: the safety count, the writers' side, callgrind's and any other counter
    /// column (numbers only; empty cells are left out, not written as 0).
    static func counters(_ r: ResultRow) -> [(String, Double)] {
        var out: [(String, Double)] = []
        func add(_ name: String, _ v: Double?) { if let v, v.isFinite { out.append((name, v)) } }
        func column(_ c: String) -> Double? { r[c].flatMap(Double.init) }
        add("uaf_detected", column("uaf_detected"))
        add("ipis_per_op", Metric.ipisPerOp.value(r))
        add("free_wait_us_p50", column("writer_wait_us_p50"))
        add("free_wait_us_p99", column("writer_wait_us_p99"))
        add("writer_latency_us_p50", column("writer_latency_us_p50"))
        add("writer_latency_us_p99", column("writer_latency_us_p99"))
        add("grace_period_us_p50", column("grace_period_us_p50"))
        add("bytes_pending_peak", column("bytes_pending_peak"))
        add("tables_freed", column("tables_freed"))
        add("ns_per_walk_p50", column("ns_per_walk_p50"))
        add("ns_per_walk_p99", column("ns_per_walk_p99"))
        add("ns_per_leaf_mean", column("ns_per_leaf_mean"))
        add("items_per_second", column("walks_per_s"))
        if let d = r["disturbed"], !d.isEmpty { add("disturbed", d == "yes" ? 1 : 0) }
        for c in r.extraColumns.sorted() { add(c, r.extra(c).flatMap(Double.init)) }
        return out
    }

    public static func document(_ rows: [ResultRow], machine: Machine?) -> [String: Any] {
        let first = rows.first
        var context: [String: Any] = [
            "date": (first?["timestamp_utc"] ?? "").replacingOccurrences(of: "Z", with: "+00:00"),
            "host_name": first?["host"] ?? "",
            "executable": "bench",
            "num_cpus": Int(first?["logical_cpus"] ?? "") ?? 0,
            "mhz_per_cpu": machine?.mhzPerCPU ?? 0,
            "cpu_scaling_enabled": (first?["governor"]).map { $0 != "performance" && $0 != "none" } ?? false,
            "caches": (machine?.caches ?? []).map { ["type": $0.type, "level": $0.level, "size": $0.size, "num_sharing": $0.numSharing] as [String: Any] },
            "load_avg": (first?["loadavg_1m"]).flatMap(Double.init).map { [$0] } ?? [],
            "library_build_type": first?["build"] == "debug" ? "debug" : "release",
            "walkbench_cpu_model": first?["cpu_model"] ?? "",
            "walkbench_kernel": first?["kernel"] ?? "",
            "walkbench_spectre_v2": first?["spectre_v2"] ?? "",
            "walkbench_git_rev": Figures.ordered(rows.compactMap { $0["git_rev"] }).joined(separator: ","),
            "walkbench_run_ids": Figures.ordered(rows.compactMap { $0["run_id"] }),
        ]
        if machine == nil { context["walkbench_note"] = "mhz_per_cpu and caches unknown: the rows come from another machine than the one that exported them" }

        let cells = groupCells(rows)
        let names = names(cells.map(\.key))
        var benchmarks: [[String: Any]] = []
        for (family, cell) in cells.enumerated() {
            let name = names[cell.key]!
            let n = cell.rows.count
            var perRow: [(time: Double, counters: [(String, Double)])] = []
            for (i, r) in cell.rows.enumerated() {
                guard let t = Metric.nsPerWalkMean.value(r) else { continue }
                let cs = counters(r)
                perRow.append((t, cs))
                var e: [String: Any] = ["name": name, "family_index": family, "per_family_instance_index": 0, "run_name": name,
                                        "run_type": "iteration", "repetitions": n, "repetition_index": i, "threads": Int(r["readers"] ?? "") ?? 1,
                                        "iterations": Int(r["walks"] ?? "") ?? 0, "real_time": t, "cpu_time": t, "time_unit": "ns"]
                for (k, v) in cs { e[k] = v }
                benchmarks.append(e)
            }
            guard perRow.count >= 2 else { continue }
            let times = perRow.map(\.time)
            var counterNames: [String] = []
            for (_, cs) in perRow { for (k, _) in cs where !counterNames.contains(k) { counterNames.append(k) } }
            for aggregate in ["mean", "median", "stddev", "cv"] {
                guard let t = Self.aggregate(aggregate, times) else { continue }
                var e: [String: Any] = ["name": "\(name)_\(aggregate)", "family_index": family, "per_family_instance_index": 0,
                                        "run_name": name, "run_type": "aggregate", "repetitions": n, "threads": Int(cell.key.value("readers")) ?? 1,
                                        "aggregate_name": aggregate, "aggregate_unit": aggregate == "cv" ? "percentage" : "time",
                                        "iterations": perRow.count, "real_time": t, "cpu_time": t, "time_unit": "ns"]
                for k in counterNames {
                    let vs = perRow.compactMap { row in row.counters.first { $0.0 == k }?.1 }
                    if let v = Self.aggregate(aggregate, vs) { e[k] = v }
                }
                benchmarks.append(e)
            }
        }
        return ["context": context, "benchmarks": benchmarks]
    }

    /// Google Benchmark's aggregates: mean, median, sample standard deviation, and cv = stddev / mean.
    static func aggregate(_ kind: String, _ xs: [Double]) -> Double? {
        guard !xs.isEmpty else { return nil }
        let mean = xs.reduce(0, +) / Double(xs.count)
        let sd = xs.count < 2 ? 0 : (xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count - 1)).squareRoot()
        switch kind {
        case "mean": return mean
        case "median": return RankStatistics.median(xs)
        case "stddev": return sd
        case "cv": return mean == 0 ? 0 : sd / mean
        default: return nil
        }
    }

    /// Where `bench run --format gbench-json` puts the JSON: beside the CSV, .json for .csv.
    public static func path(besideCSV csv: String) -> String {
        csv.hasSuffix(".csv") ? String(csv.dropLast(4)) + ".json" : csv + ".json"
    }

    public static func render(_ rows: [ResultRow], machine: Machine?) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: document(rows, machine: machine), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
