// Distribution-free statistics for comparing two samples of benchmark measurements: the Mann–Whitney U
// test, the Hodges–Lehmann shift with its Moses confidence interval, Holm's step-down adjustment, and
// median / coefficient of variation / median interval of one sample. Rank methods because timings are
// skewed and heavy-tailed, so means and t-tests mislead; and all of it is cheap enough for thousands of
// cells of 3–300 repetitions each.
//
// Every sample function returns nil for an empty sample or one holding a NaN or an infinity.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum RankStatistics {
    /// The Mann–Whitney U test of sample b against sample a.
    public struct MannWhitney: Sendable, Equatable {
        /// U of sample b: the number of pairs (a_i, b_j) with b_j > a_i, a tie counting 1/2.
        public let u: Double
        /// Two-sided p-value.
        public let p: Double
        /// Whether p comes from the exact null distribution (no ties, both sides ≤ `exactLimit`) rather
        /// than the normal approximation.
        public let exact: Bool
    }

    /// The Hodges–Lehmann estimate of how far b is shifted from a, with its confidence interval.
    public struct Shift: Sendable, Equatable {
        /// Median of the pairwise differences b_j - a_i.
        public let estimate: Double
        /// Bounds of the interval; nil when the samples are too small for the confidence asked.
        public let lower: Double?
        public let upper: Double?
    }

    /// Largest size per side for which the exact null distribution of U is used. The distribution costs
    /// O(min(m,n)·m·n) operations, under 0.1 ms at 50 × 50; beyond, the normal approximation is close.
    public static let exactLimit = 50

    // MARK: - Mann–Whitney

    /// Two-sided Mann–Whitney U test. Exact when there are no ties (within or across samples) and both
    /// sides have at most `exactLimit` values: p = min(1, 2·min(P(U ≤ u), P(U ≥ u))). Otherwise the
    /// normal approximation with tie-corrected variance and continuity correction (as scipy's
    /// mannwhitneyu with method="asymptotic"). Nil if a side is empty or holds a non-finite value.
    public static func mannWhitney(_ a: [Double], _ b: [Double]) -> MannWhitney? {
        let m = a.count, n = b.count
        guard m > 0, n > 0, allFinite(a), allFinite(b) else { return nil }
        let (ranks, tieSum) = midranks(a + b)
        var rankSumB = 0.0
        for i in m..<(m + n) { rankSumB += ranks[i] }
        let u = rankSumB - Double(n * (n + 1)) / 2
        let mn = Double(m * n)

        if tieSum == 0 && m <= exactLimit && n <= exactLimit {
            // Without ties u is an integer; the null distribution is symmetric, so the smaller tail is
            // the lower tail at min(u, mn - u).
            let ui = Int(u.rounded())
            let cdf = uLowerCDF(m, n, upTo: min(ui, m * n - ui))
            return MannWhitney(u: u, p: min(1, 2 * cdf[cdf.count - 1]), exact: true)
        }

        let total = Double(m + n)
        let variance = mn / 12 * ((total + 1) - tieSum / (total * (total - 1)))
        guard variance > 0 else { return MannWhitney(u: u, p: 1, exact: false) }  // every value equal
        let z = (max(u, mn - u) - mn / 2 - 0.5) / variance.squareRoot()
        return MannWhitney(u: u, p: min(1, erfc(z / 2.0.squareRoot())), exact: false)
    }

    // MARK: - Hodges–Lehmann

    /// Hodges–Lehmann shift of b relative to a (positive: b is larger) and its distribution-free
    /// confidence interval [D(k), D(mn+1-k)] over the sorted differences D (Moses; Bauer 1972). k is the
    /// largest rank with 2·P(U ≤ k-1) ≤ 1 - confidence under the exact no-ties null distribution when
    /// both sides have at most `exactLimit` values, under its normal approximation (with continuity
    /// correction) beyond. The bounds are nil when no k ≥ 1 qualifies (e.g. 2 vs 2 at any confidence
    /// above 2/3). Nil if a side is empty or holds a non-finite value. `confidence` must be in (0, 1).
    public static func hodgesLehmann(_ a: [Double], _ b: [Double], confidence: Double = 0.95) -> Shift? {
        precondition(confidence > 0 && confidence < 1, "confidence must be in (0, 1)")
        let m = a.count, n = b.count
        guard m > 0, n > 0, allFinite(a), allFinite(b) else { return nil }
        let count = m * n
        let k = shiftRank(m, n, confidence: confidence)
        if count > largeShiftLimit {
            // Too many differences to list: find each order statistic by bisection on its value,
            // counting the differences below a candidate in O(m + n) over the sorted samples.
            let sa = a.sorted(), sb = b.sorted()
            let estimate = (kthDifference(sa, sb, (count + 1) / 2) + kthDifference(sa, sb, count / 2 + 1)) / 2
            guard k >= 1 else { return Shift(estimate: estimate, lower: nil, upper: nil) }
            return Shift(estimate: estimate, lower: kthDifference(sa, sb, k), upper: kthDifference(sa, sb, count + 1 - k))
        }
        var d = [Double]()
        d.reserveCapacity(count)
        for y in b { for x in a { d.append(y - x) } }

        var targets = [(count - 1) / 2, count / 2]
        if k >= 1 { targets += [k - 1, count - k] }
        select(&d, Array(Set(targets)).sorted())
        let estimate = (d[(count - 1) / 2] + d[count / 2]) / 2
        guard k >= 1 else { return Shift(estimate: estimate, lower: nil, upper: nil) }
        return Shift(estimate: estimate, lower: d[k - 1], upper: d[count - k])
    }

    /// Above this many pairwise differences the shift is found without listing them.
    static let largeShiftLimit = 10_000

    /// The k-th smallest (1-based) of the differences b_j - a_i, from sorted samples, without listing
    /// them: bisection over the doubles' order (at most 64 steps) for the smallest value v with at least
    /// k differences ≤ v; v is then a difference itself.
    static func kthDifference(_ a: [Double], _ b: [Double], _ k: Int) -> Double {
        // Differences at most v: for each b_j, the a_i ≥ b_j - v; both move up with j.
        func countAtMost(_ v: Double) -> Int {
            var i = 0, total = 0
            for y in b {
                while i < a.count && a[i] < y - v { i += 1 }
                total += a.count - i
            }
            return total
        }
        // The largest difference ≤ v (the order statistic once v is pinned down).
        func largestAtMost(_ v: Double) -> Double {
            var i = 0, best = -Double.infinity
            for y in b {
                while i < a.count && a[i] < y - v { i += 1 }
                if i < a.count { best = max(best, y - a[i]) }
            }
            return best
        }
        // Doubles as integers in the same order, so bisection ends after at most 64 halvings.
        func key(_ x: Double) -> Int64 {
            let bits = Int64(bitPattern: x.bitPattern)
            return bits < 0 ? Int64.min &- bits : bits
        }
        func value(_ k: Int64) -> Double {
            Double(bitPattern: UInt64(bitPattern: k < 0 ? Int64.min &- k : k))
        }
        var lo = key(b[0] - a[a.count - 1]) &- 1  // fewer than k differences at most this
        var hi = key(b[b.count - 1] - a[0])       // every difference at most this
        // The span can exceed Int64 (differences of both signs): halve it as unsigned.
        while UInt64(bitPattern: hi &- lo) > 1 {
            let mid = lo &+ Int64(bitPattern: UInt64(bitPattern: hi &- lo) / 2)
            if countAtMost(value(mid)) >= k { hi = mid } else { lo = mid }
        }
        return largestAtMost(value(hi))
    }

    /// The 1-based order statistic k of the Moses interval, 0 when none reaches the confidence.
    static func shiftRank(_ m: Int, _ n: Int, confidence: Double) -> Int {
        let halfAlpha = (1 - confidence) / 2
        if m <= exactLimit && n <= exactLimit {
            // P(U ≤ k-1) < 1/2 for any qualifying k, so the lower half of the distribution suffices.
            let cdf = uLowerCDF(m, n, upTo: m * n / 2)
            var k = 0
            while k < cdf.count && atMost(cdf[k], halfAlpha) { k += 1 }
            return k
        }
        let mn = Double(m * n)
        let sigma = (mn * Double(m + n + 1) / 12).squareRoot()
        let k = (mn / 2 + 0.5 - normalUpperQuantile(halfAlpha) * sigma).rounded(.down)
        return max(0, Int(k))
    }

    // MARK: - Holm

    /// Holm–Bonferroni adjusted p-values in the input's order: the i-th smallest of m is multiplied by
    /// m - i + 1, made non-decreasing in that order, and capped at 1. NaN entries stay NaN and are left
    /// out of m (as R's p.adjust does).
    public static func holm(_ p: [Double]) -> [Double] {
        let order = p.indices.filter { !p[$0].isNaN }.sorted { p[$0] < p[$1] }
        var adjusted = p
        var running = 0.0
        for (i, index) in order.enumerated() {
            running = max(running, min(1, Double(order.count - i) * p[index]))
            adjusted[index] = running
        }
        return adjusted
    }

    // MARK: - One sample

    /// The median (mean of the two middle values for an even count).
    public static func median(_ x: [Double]) -> Double? {
        guard !x.isEmpty, allFinite(x) else { return nil }
        var v = x
        let targets = Array(Set([(x.count - 1) / 2, x.count / 2])).sorted()
        select(&v, targets)
        return (v[(x.count - 1) / 2] + v[x.count / 2]) / 2
    }

    /// Sample standard deviation (n - 1 denominator) over |mean|. Nil for fewer than 2 values or a zero
    /// mean.
    public static func coefficientOfVariation(_ x: [Double]) -> Double? {
        guard x.count >= 2, allFinite(x) else { return nil }
        let mean = x.reduce(0, +) / Double(x.count)
        guard mean != 0 else { return nil }
        // Two passes: the one-pass sum-of-squares formula cancels badly for tight timings.
        let squares = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (squares / Double(x.count - 1)).squareRoot() / abs(mean)
    }

    /// Distribution-free confidence interval [x(k), x(n+1-k)] for the median, k the largest rank with
    /// 2·P(Binomial(n, 1/2) ≤ k-1) ≤ 1 - confidence. Nil when no k ≥ 1 qualifies (n ≤ 5 at 95%) or the
    /// sample is empty or holds a non-finite value. `confidence` must be in (0, 1).
    public static func medianInterval(_ x: [Double], confidence: Double = 0.95) -> (lower: Double, upper: Double)? {
        precondition(confidence > 0 && confidence < 1, "confidence must be in (0, 1)")
        let n = x.count
        guard n > 0, allFinite(x) else { return nil }
        let halfAlpha = (1 - confidence) / 2
        // Binomial(n, 1/2) lower tail, pmf stepped in logs so 2^-n cannot underflow the start.
        var logPmf = -Double(n) * log(2.0)
        var cdf = 0.0
        var k = 0
        while k <= n / 2 {
            cdf += exp(logPmf)
            guard atMost(cdf, halfAlpha) else { break }
            logPmf += log(Double(n - k) / Double(k + 1))
            k += 1
        }
        guard k >= 1 else { return nil }
        var v = x
        select(&v, k - 1 == n - k ? [k - 1] : [k - 1, n - k])
        return (v[k - 1], v[n - k])
    }

    // MARK: - Internals

    static func allFinite(_ x: [Double]) -> Bool { x.allSatisfy { $0.isFinite } }

    /// p ≤ limit, with slack for rounding so a confidence like 1 - 8/252 selects the rank it names.
    static func atMost(_ p: Double, _ limit: Double) -> Bool { p <= limit * (1 + 1e-9) }

    /// 1-based midranks of x (ties get the mean of the ranks they span) and Σ(t³ - t) over tie groups.
    static func midranks(_ x: [Double]) -> (ranks: [Double], tieSum: Double) {
        let order = x.indices.sorted { x[$0] < x[$1] }
        var ranks = [Double](repeating: 0, count: x.count)
        var tieSum = 0.0
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count && x[order[end]] == x[order[start]] { end += 1 }
            let rank = Double(start + end + 1) / 2
            for i in start..<end { ranks[order[i]] = rank }
            let t = Double(end - start)
            tieSum += t * t * t - t
            start = end
        }
        return (ranks, tieSum)
    }

    /// P(U ≤ k) for k in 0...limit under the null hypothesis without ties, sizes m and n.
    /// The number of arrangements with U = k is the coefficient of q^k in the Gaussian binomial
    /// [m+n choose s]_q = Π_{i=1..s} (1 - q^(l+i)) / (1 - q^i), s = min(m,n), l = max(m,n): s passes over
    /// the coefficients, each multiplying by one binomial factor and dividing by another. Coefficients of
    /// degree ≤ limit never depend on higher ones, so the polynomial is truncated there.
    static func uLowerCDF(_ m: Int, _ n: Int, upTo limit: Int) -> [Double] {
        let s = min(m, n), l = max(m, n)
        var c = [Double](repeating: 0, count: limit + 1)
        c[0] = 1
        var arrangements = 1.0  // C(l+i, i) after step i; each step keeps it an exact integer while small
        c.withUnsafeMutableBufferPointer { c in  // unchecked: this loop is most of a small-sample call
            for i in 1...s {
                let d = l + i
                if d <= limit {
                    for k in stride(from: limit, through: d, by: -1) { c[k] -= c[k - d] }  // × (1 - q^d)
                }
                if i <= limit {
                    for k in i...limit { c[k] += c[k - i] }  // ÷ (1 - q^i)
                }
                arrangements = arrangements * Double(d) / Double(i)
            }
        }
        var running = 0.0
        for k in c.indices {
            running += c[k]
            c[k] = min(1, running / arrangements)
        }
        return c
    }

    /// z with P(Z > z) = tail for a standard normal Z, tail in (0, 1/2]: bisection on erfc, exact to
    /// the last bits and only needed once per large-sample interval.
    static func normalUpperQuantile(_ tail: Double) -> Double {
        var lo = 0.0, hi = 40.0
        while true {
            let mid = (lo + hi) / 2
            guard mid > lo && mid < hi else { return mid }
            if erfc(mid / 2.0.squareRoot()) / 2 > tail { lo = mid } else { hi = mid }
        }
    }

    /// Rearranges v so that each index in `targets` (ascending, distinct) holds the value a full sort
    /// would put there: a quickselect that descends only into parts holding a target.
    static func select(_ v: inout [Double], _ targets: [Int]) {
        var seed = UInt64(truncatingIfNeeded: v.count) &* 0x9E37_79B9_7F4A_7C15 | 1
        v.withUnsafeMutableBufferPointer { buffer in
            selectRange(buffer, targets[...], 0, buffer.count, &seed)
        }
    }

    private static func selectRange(
        _ v: UnsafeMutableBufferPointer<Double>, _ targets: ArraySlice<Int>, _ low: Int, _ high: Int,
        _ seed: inout UInt64
    ) {
        var low = low, targets = targets
        while !targets.isEmpty {
            if high - low <= 16 {
                // Insertion sort: cheaper than partitioning this few.
                for i in (low + 1)..<high {
                    let value = v[i]
                    var j = i
                    while j > low && v[j - 1] > value { v[j] = v[j - 1]; j -= 1 }
                    v[j] = value
                }
                return
            }
            // Pseudo-random pivot, so sorted or patterned differences cannot force quadratic time.
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let pivot = v[low + Int((seed >> 33) % UInt64(high - low))]
            // Three-way partition: timings repeat values, and equal keys must not degrade the split.
            var less = low, i = low, greater = high
            while i < greater {
                if v[i] < pivot {
                    v.swapAt(less, i); less += 1; i += 1
                } else if v[i] > pivot {
                    greater -= 1; v.swapAt(i, greater)
                } else {
                    i += 1
                }
            }
            let left = targets.prefix { $0 < less }
            if !left.isEmpty { selectRange(v, left, low, less, &seed) }
            targets = targets.drop { $0 < greater }
            low = greater
        }
    }
}
