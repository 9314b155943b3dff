import Histogram

/// What one repetition of a scenario measured, before it becomes a CSV row.
public struct RepetitionResult: Sendable {
    public var repetition: Int
    /// Wall-clock seconds between the start and the end of the measured phase.
    public var measuredSeconds: Double = 0
    public var walks: UInt64 = 0
    /// Sum over walkers of the time spent inside timed batches, in timer ticks.
    public var walkTicks: UInt64 = 0
    /// One sampled walk per batch, timed alone, timer overhead subtracted (ticks).
    public var walkLatency = Histogram<UInt64>(highestTrackableValue: 1 << 40, numberOfSignificantValueDigits: .three)
    /// Present leaves the timed walks found (the work a range walk does).
    public var leaves: UInt64 = 0
    public var uafDetected: UInt64 = 0
    /// Walks that handed over a page of another generation than the leaf they read (oracle on).
    public var pageUAFDetected: UInt64 = 0
    /// Collapses refused because a page held a reference beyond its mappings (a walker's).
    public var collapsesRefused = 0
    public var walkRetries: UInt64 = 0
    public var writerOps: UInt64 = 0
    /// Writer operation latency (ticks), lock acquisition included.
    public var writerLatency = Histogram<UInt64>(highestTrackableValue: 1 << 44, numberOfSignificantValueDigits: .three)
    public var tablesFreed: Int = 0
    /// Tables freed while a walk window was open on some walker CPU (oracle on only; nil otherwise):
    /// the frees that could have gone wrong.
    public var tablesFreedDuringWalks: Int?
    public var tablesPendingPeak: Int = 0
    public var bytesPendingPeak: Int = 0
    /// Retire-to-free wait of every table freed in the measured phase (ticks).
    public var writerWait = Histogram<UInt64>(highestTrackableValue: 1 << 46, numberOfSignificantValueDigits: .three)
    public var ipisSent: UInt64?
    /// IPIs a flush did not send because the target was lazy (nil: lazy TLB off or n/a).
    public var ipisSkippedLazy: UInt64?
    /// Flushes that trimmed the cpumask (nil: not the clearedLazily policy with lazy TLB on).
    public var cpumaskTrims: UInt64?
    /// Counter totals over the walker threads, the writer threads, and the process (SDE).
    public var readerCounters = CounterTotals()
    public var writerCounters = CounterTotals()
    public var processCounters = CounterTotals()
    public var gracePeriods: Histogram<UInt64>?
    public var pinning: String = ""
    /// Other processes' CPU time and the hypervisor's steal during the measured phase.
    public var disturbance: Disturbance?

    public init(repetition: Int) { self.repetition = repetition }

    mutating func absorb(_ t: ReaderTally) {
        walks += t.walks
        walkTicks += t.ticks
        uafDetected += t.uaf
        pageUAFDetected += t.pageUAF
        walkRetries += t.retries
        leaves += t.leaves
        walkLatency.add(t.latency)
        readerCounters.merge(t.counters)
    }

    mutating func absorb(_ t: WriterTally) {
        writerOps += t.ops
        writerLatency.add(t.latency)
        writerCounters.merge(t.counters)
    }
}

struct ReaderTally: Sendable {
    var walks: UInt64 = 0
    var leaves: UInt64 = 0
    var ticks: UInt64 = 0
    var uaf: UInt64 = 0
    var pageUAF: UInt64 = 0
    var retries: UInt64 = 0
    var latency = Histogram<UInt64>(highestTrackableValue: 1 << 40, numberOfSignificantValueDigits: .three)
    var counters = CounterTotals()
}

struct WriterTally: Sendable {
    var ops: UInt64 = 0
    var latency = Histogram<UInt64>(highestTrackableValue: 1 << 44, numberOfSignificantValueDigits: .three)
    var counters = CounterTotals()
    var error: String?
}
