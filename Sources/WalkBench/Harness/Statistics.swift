import Histogram

/// Order statistics over small samples (repetitions) and histograms (sampled walks).
public enum Statistics {
    /// The median; the mean of the middle two for an even count. Nil for no values.
    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let s = values.sorted()
        let mid = s.count / 2
        return s.count % 2 == 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
    }

    public static func mean(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        return values.reduce(0, +) / Double(values.count)
    }

    /// A percentile of a histogram of timer ticks, in nanoseconds; nil when nothing was recorded.
    ///
    /// Each recorded value stands for an interval: the clock's step (a sample of a clock that advances
    /// 26 ticks at a time is known only to 26 ticks) or the histogram's bucket, whichever is wider. The
    /// samples are spread evenly over it, as the median of grouped data is, so the percentile moves
    /// smoothly with the distribution instead of jumping from one step to the next.
    public static func percentile(_ h: Histogram<UInt64>, _ p: Double, timeBase: TimeBase) -> Double? {
        interpolatedPercentile(h, p, quantum: timeBase.resolutionTicks).map { $0 / timeBase.ticksPerNanosecond }
    }

    /// `percentile` in ticks.
    public static func interpolatedPercentile(_ h: Histogram<UInt64>, _ p: Double, quantum: UInt64) -> Double? {
        guard h.totalCount > 0 else { return nil }
        let target = min(max(p, 0), 100) / 100 * Double(h.totalCount)
        var below = 0.0
        for v in h.recordedValues() {
            let count = Double(v.count)
            if below + count >= target {
                let width = Double(max(quantum, h.sizeOfEquivalentRangeForValue(v.value)))
                let low = Double(h.medianEquivalentForValue(v.value)) - width / 2
                return max(0, low + (target - below) / count * width)
            }
            below += count
        }
        return Double(h.maxRecorded)
    }
}
