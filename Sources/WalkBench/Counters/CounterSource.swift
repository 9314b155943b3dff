/// Counters read around the measured region: probe, then per thread (or once per process) start, stop,
/// read. An unavailable counter never aborts a run: its columns stay empty and one line says why.
///
/// Names on the command line pick the source: `perf::NAME` (perf software events), `sde:::walkbench::NAME`
/// (the strategies' own PAPI software-defined events), anything else a PAPI preset or native event.
public protocol CounterSource: Sendable {
    /// The events this source was asked for, in the order asked.
    var events: [String] { get }
    /// One line per event that cannot be counted here, saying why.
    var unavailable: [String: String] { get }
    /// Thread sources count the calling thread; process sources count once for the whole run.
    var scope: CounterScope { get }
    /// Opens the counters for the calling thread (thread scope) or for the run (process scope).
    func open() -> any CounterSession
}

public enum CounterScope: Sendable { case thread, process }

/// One region's counting: start at the start of the measured region, stop at its end (never inside the
/// timed batches), then read.
public protocol CounterSession {
    mutating func start()
    mutating func stop()
    /// Per event: the count (scaled when multiplexed), or nil if it could not be counted.
    var values: [String: Double] { get }
    /// Events whose value was scaled for multiplexing, with the fraction of the time they ran.
    var scaled: [String: Double] { get }
    func close()
}

public struct CounterError: Error, CustomStringConvertible {
    public let description: String
}

/// The counters a run asked for, split by source.
public struct CounterPlan: Sendable {
    public let events: [String]
    public let sources: [any CounterSource]

    public static let none = CounterPlan(events: [], sources: [])

    /// What `--counters default` means, and what runs without `--counters` count when the machine has a
    /// PMU: cycles, instructions, branch mispredictions, L1D misses, data TLB misses, and the CPU's
    /// native indirect-branch events (where retpolines show), for the vendors below. Names this PAPI
    /// cannot resolve are left out, not errors.
    public static func defaultHardware(cpuModel: String) -> [String] {
        var names = ["PAPI_TOT_CYC", "PAPI_TOT_INS", "PAPI_BR_MSP", "PAPI_L1_DCM", "PAPI_TLB_DM"]
        if cpuModel.contains("Intel") {
            names += ["BR_INST_RETIRED:INDIRECT", "BR_MISP_RETIRED:INDIRECT"]
        } else if cpuModel.contains("AMD") {
            names += ["RETIRED_INDIRECT_BRANCH_INSTRUCTIONS_MISPREDICTED"]
        }
        return names.filter { PAPICounters.resolves($0) }
    }

    /// Parses `--counters`; an unknown name is an error naming it.
    public static func parse(_ names: [String]) throws -> CounterPlan {
        var perf: [String] = [], sde: [String] = [], papi: [String] = []
        for n in names {
            if n.hasPrefix(PerfSoftwareCounters.prefix) { perf.append(n) }
            else if n.hasPrefix(SDECounters.prefix) { sde.append(n) }
            else { papi.append(n) }
        }
        var sources: [any CounterSource] = []
        if !perf.isEmpty { sources.append(try PerfSoftwareCounters(events: perf)) }
        if !sde.isEmpty { sources.append(try SDECounters(events: sde)) }
        if !papi.isEmpty { sources.append(try PAPICounters(events: papi)) }
        return CounterPlan(events: names, sources: sources)
    }

    public var isEmpty: Bool { events.isEmpty }

    /// Why each unavailable event is, one line each, in the order asked.
    public var notes: [String] {
        var all: [String: String] = [:]
        for s in sources { all.merge(s.unavailable) { a, _ in a } }
        return events.compactMap { all[$0] }
    }

    /// The CSV column stem of an event: lower case, non-alphanumerics as `_`.
    public static func column(_ event: String) -> String {
        String(event.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }

    /// The columns this plan adds, after the fixed ones: per event, per walk then per writer op.
    public var columns: [String] {
        events.flatMap { [Self.column($0) + "_per_walk", Self.column($0) + "_per_op"] } + (isEmpty ? [] : ["counters_note"])
    }

    public var threadEvents: [String] { sources.filter { $0.scope == .thread }.flatMap(\.events) }
    public var processEvents: [String] { sources.filter { $0.scope == .process }.flatMap(\.events) }

    /// Opens every thread-scope source for the calling thread.
    func openThread() -> [any CounterSession] { sources.filter { $0.scope == .thread }.map { $0.open() } }
    /// Opens every process-scope source (the controller does, around the measured phase).
    func openProcess() -> [any CounterSession] { sources.filter { $0.scope == .process }.map { $0.open() } }
}

/// Sums of counter values over the threads of one role.
public struct CounterTotals: Sendable {
    public var values: [String: Double] = [:]
    /// Events some thread could not count: their totals are not reported.
    public var missing: Set<String> = []
    public var scaledFraction: [String: Double] = [:]

    mutating func add(_ sessions: [any CounterSession], events: [String]) {
        var seen: [String: Double] = [:]
        for s in sessions {
            seen.merge(s.values) { a, _ in a }
            scaledFraction.merge(s.scaled) { min($0, $1) }
        }
        for e in events {
            if let v = seen[e] { values[e, default: 0] += v } else { missing.insert(e) }
        }
    }

    mutating func merge(_ other: CounterTotals) {
        values.merge(other.values, uniquingKeysWith: +)
        missing.formUnion(other.missing)
        scaledFraction.merge(other.scaledFraction) { min($0, $1) }
    }

    func value(_ event: String) -> Double? { missing.contains(event) ? nil : values[event] }
}
