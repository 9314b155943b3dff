import Foundation

/// A scenario as plain data: what a run hands its measuring processes (`--processes`), and what
/// `bench check` rebuilds from a baseline's rows. Round-trips through JSON without loss.
public struct ScenarioSpec: Codable, Sendable, Hashable {
    public var geometry: String
    public var workloadName: String
    public var workloadKind: String
    public var mappedBytes: UInt64
    public var density: Double
    public var hugeFraction: Double
    public var pteFolioOrder: Int
    public var writerDelayNanoseconds: UInt64
    public var readerIdleNanoseconds: UInt64
    public var strategy: String
    public var walker: String
    public var dispatch: String
    public var readers: Int
    public var writers: Int
    public var oracle: Bool
    public var span: UInt64
    public var takeReference: Bool
    public var pin: Bool
    public var extraWork: UInt64
    public var duration: Double
    public var warmup: Double
    public var repetitions: Int
    public var batch: Int
    public var seed: UInt64
    public var batchFailRate: Double
    public var lazyTLB: String
    public var windowDelayNanoseconds: UInt64
    public var cpumaskTrimNanoseconds: UInt64
    public var ptReclaim: Bool

    public init(_ s: Scenario) {
        geometry = s.geometry.name
        workloadName = s.workload.name
        workloadKind = s.workload.kind
        mappedBytes = s.workload.mappedBytes
        density = s.workload.density
        hugeFraction = s.workload.hugeFraction
        pteFolioOrder = s.workload.pteFolioOrder
        writerDelayNanoseconds = s.workload.writerDelayNanoseconds
        readerIdleNanoseconds = s.workload.readerIdleNanoseconds
        strategy = s.strategy
        walker = s.walker
        dispatch = s.dispatch
        readers = s.readers
        writers = s.writers
        oracle = s.oracle
        span = s.walkOptions.span
        takeReference = s.walkOptions.takeReference
        pin = s.walkOptions.pin
        extraWork = s.walkOptions.extraWork
        duration = s.timing.duration
        warmup = s.timing.warmup
        repetitions = s.timing.repetitions
        batch = s.timing.batch
        seed = s.seed
        batchFailRate = s.protectionOptions.batchFailRate
        lazyTLB = s.protectionOptions.lazyTLB.rawValue
        cpumaskTrimNanoseconds = s.protectionOptions.cpumaskTrimNanoseconds
        ptReclaim = s.protectionOptions.ptReclaim
        windowDelayNanoseconds = s.windowDelayNanoseconds
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// The scenario, or what in the spec names nothing this build knows.
    public func scenario() throws -> Scenario {
        guard let g = Geometry.named(geometry) else { throw Invalid(description: "unknown geometry \"\(geometry)\"") }
        guard let kind = Workloads.kind(named: workloadKind) else { throw Invalid(description: "unknown workload kind \"\(workloadKind)\"") }
        guard Strategies.names.contains(strategy) else { throw Invalid(description: "unknown strategy \"\(strategy)\"") }
        guard Walkers.dispatches(of: walker).contains(dispatch) else {
            throw Invalid(description: "unknown walker \"\(walker)\" with dispatch \"\(dispatch)\"")
        }
        guard let lazy = LazyTLB(rawValue: lazyTLB) else { throw Invalid(description: "unknown lazy-TLB mode \"\(lazyTLB)\"") }
        guard readers >= 1, writers >= 0, repetitions >= 1, batch >= 1, duration > 0, warmup >= 0, mappedBytes > 0,
              density > 0, density <= 1, hugeFraction >= 0, hugeFraction <= 1, span > 0 else {
            throw Invalid(description: "scenario \(strategy)/\(walker)/\(workloadName): a parameter is out of range")
        }
        var w = kind.preset
        w.name = workloadName
        w.mappedBytes = mappedBytes
        w.density = density
        w.hugeFraction = hugeFraction
        w.pteFolioOrder = pteFolioOrder
        w.writerDelayNanoseconds = writerDelayNanoseconds
        w.readerIdleNanoseconds = readerIdleNanoseconds
        w.readers = readers
        w.writers = writers
        var s = Scenario(geometry: g, workload: w, strategy: strategy, walker: walker, readers: readers, writers: writers,
                         oracle: oracle, walkOptions: WalkOptions(span: span, takeReference: takeReference, extraWork: extraWork, pin: pin),
                         timing: Timing(duration: duration, warmup: warmup, repetitions: repetitions, batch: batch), seed: seed)
        s.dispatch = dispatch
        s.protectionOptions = ProtectionOptions(batchFailRate: batchFailRate, lazyTLB: lazy,
                                                cpumaskTrimNanoseconds: cpumaskTrimNanoseconds, ptReclaim: ptReclaim)
        s.windowDelayNanoseconds = windowDelayNanoseconds
        return s
    }
}

/// Everything a measuring process needs besides the scenarios.
public struct RunSpec: Codable, Sendable {
    public var scenarios: [ScenarioSpec]
    /// Counter names as given (resolved again in each process: PAPI event sets are per process).
    public var counters: [String]
    /// Walks per scenario under callgrind; nil: no callgrind (only the first process counts them).
    public var callgrindWalks: Int?
    public var arenaHugePages: Bool

    public init(scenarios: [ScenarioSpec], counters: [String], callgrindWalks: Int?, arenaHugePages: Bool) {
        self.scenarios = scenarios
        self.counters = counters
        self.callgrindWalks = callgrindWalks
        self.arenaHugePages = arenaHugePages
    }
}
