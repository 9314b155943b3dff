#if canImport(Glibc)
import Glibc
#endif
import CWalkSupport

/// The clock the harness times batches with: the TSC where it is invariant, CLOCK_MONOTONIC otherwise.
///
/// Calibrated once per run against CLOCK_MONOTONIC; its own overhead (two back-to-back ordered reads)
/// is measured, reported, and subtracted from single-walk samples.
public struct TimeBase: Sendable {
    public enum Source: String, Sendable { case tsc, monotonic }
    public let source: Source
    public let ticksPerNanosecond: Double
    /// Median cost of one ordered read pair, in ticks.
    public let overheadTicks: UInt64
    /// Why the TSC is not used, when it is not.
    public let note: String?
    /// The smallest step the clock takes between two reads, in ticks. A guest's TSC may advance in
    /// steps of many ticks (26, 10–10.6 ns, on the AMD EPYC KVM guests this suite grew on), so a
    /// single timed walk is known only to that step; percentiles spread each sample over it.
    public var resolutionTicks: UInt64 = 1

    /// CLOCK_MONOTONIC, uncalibrated: for code paths (tests, tools) that need some clock and no numbers.
    public static let fallback = TimeBase(source: .monotonic, ticksPerNanosecond: 1, overheadTicks: 0, note: "fallback clock")

    public var overheadNanoseconds: Double { Double(overheadTicks) / ticksPerNanosecond }
    public var resolutionNanoseconds: Double { Double(resolutionTicks) / ticksPerNanosecond }

    @inline(__always)
    public func now() -> UInt64 {
        source == .tsc ? wb_rdtsc() : Self.monotonicNanoseconds()
    }

    /// A read that waits for earlier instructions: for timing one walk.
    @inline(__always)
    public func nowOrdered() -> UInt64 {
        source == .tsc ? wb_rdtsc_ordered() : Self.monotonicNanoseconds()
    }

    @inline(__always)
    public func nanoseconds(_ ticks: UInt64) -> Double { Double(ticks) / ticksPerNanosecond }

    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Measures the TSC rate over `window` nanoseconds (default 50 ms) and the timer overhead.
    public static func calibrate(invariantTSC: Bool, window: UInt64 = 50_000_000) -> TimeBase {
        guard wb_has_tsc() != 0, invariantTSC else {
            let note = wb_has_tsc() == 0 ? "no TSC on this architecture" : "TSC not invariant (no constant_tsc/nonstop_tsc)"
            var t = TimeBase(source: .monotonic, ticksPerNanosecond: 1,
                             overheadTicks: medianPairCost { monotonicNanoseconds() }, note: note + "; timing with CLOCK_MONOTONIC")
            t.resolutionTicks = smallestStep { monotonicNanoseconds() }
            return t
        }
        let n0 = monotonicNanoseconds()
        let t0 = wb_rdtsc_ordered()
        var n1 = n0
        while n1 - n0 < window { n1 = monotonicNanoseconds() }
        let t1 = wb_rdtsc_ordered()
        let rate = Double(t1 - t0) / Double(n1 - n0)
        var t = TimeBase(source: .tsc, ticksPerNanosecond: rate, overheadTicks: medianPairCost { wb_rdtsc_ordered() }, note: nil)
        t.resolutionTicks = smallestStep { wb_rdtsc() }
        return t
    }

    /// The clock's step: the most common difference between back-to-back reads. The reads go into a
    /// buffer first, so the loop adds next to nothing of its own. Not the smallest difference: this
    /// guest's TSC advances 26 ticks at a time, and about one read in twelve catches it one tick into a
    /// step (differences of 1 and 25 ticks); the values still move in steps of 26.
    private static func smallestStep(_ read: () -> UInt64) -> UInt64 {
        let n = 20_000
        var reads = [UInt64](repeating: 0, count: n)
        reads.withUnsafeMutableBufferPointer { buffer in
            for i in 0..<n { buffer[i] = read() }
        }
        var counts: [UInt64: Int] = [:]
        for i in 1..<n where reads[i] > reads[i - 1] { counts[reads[i] - reads[i - 1], default: 0] += 1 }
        return counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key ?? 1
    }

    private static func medianPairCost(_ read: () -> UInt64) -> UInt64 {
        var costs: [UInt64] = []
        costs.reserveCapacity(10_001)
        for _ in 0..<10_001 {
            let a = read()
            let b = read()
            costs.append(b &- a)
        }
        costs.sort()
        return costs[costs.count / 2]
    }
}
