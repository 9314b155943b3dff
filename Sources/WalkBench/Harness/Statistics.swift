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
    public static func percentile(_ h: Histogram<UInt64>, _ p: Double, timeBase: TimeBase) -> Double? {
        guard h.totalCount > 0 else { return nil }
        return timeBase.nanoseconds(h.valueAtPercentile(p))
    }
}
