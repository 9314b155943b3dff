// Reference values: scipy 1.17.1 (scipy.stats.mannwhitneyu(b, a), so its statistic is U of b) and
// statsmodels 0.15.0 (multipletests(method="holm")); exact U distributions: Python integer arithmetic.
// Hodges–Lehmann intervals: a brute force below that enumerates every rank arrangement.

import Testing
@testable import WalkBench

private typealias RS = RankStatistics

private func near(_ x: Double, _ y: Double, relative: Double = 1e-6) -> Bool {
    abs(x - y) <= relative * max(abs(x), abs(y))
}

// MARK: - Brute force

/// Counts of U = 0...m·n over every choice of n ranks out of m + n (the null distribution without ties).
private func enumeratedUCounts(_ m: Int, _ n: Int) -> [Double] {
    var counts = [Double](repeating: 0, count: m * n + 1)
    func choose(from next: Int, left: Int, rankSum: Int) {
        if left == 0 {
            counts[rankSum - n * (n + 1) / 2] += 1
            return
        }
        guard next <= m + n - left + 1 else { return }
        for r in next...(m + n - left + 1) { choose(from: r + 1, left: left - 1, rankSum: rankSum + r) }
    }
    choose(from: 1, left: n, rankSum: 0)
    return counts
}

/// Hodges–Lehmann by definition: sort all differences, the Moses rank from the enumerated distribution.
private func bruteShift(_ a: [Double], _ b: [Double], confidence: Double) -> RS.Shift {
    let d = b.flatMap { y in a.map { y - $0 } }.sorted()
    let estimate = (d[(d.count - 1) / 2] + d[d.count / 2]) / 2
    let counts = enumeratedUCounts(a.count, b.count)
    let total = counts.reduce(0, +)
    var k = 0, below = 0.0
    while true {
        below += counts[k]
        guard below / total <= (1 - confidence) / 2 * (1 + 1e-9) else { break }
        k += 1
    }
    guard k >= 1 else { return RS.Shift(estimate: estimate, lower: nil, upper: nil) }
    return RS.Shift(estimate: estimate, lower: d[k - 1], upper: d[d.count - k])
}

/// Deterministic pseudo-random values with many repeats, like quantised timings.
private func sample(_ count: Int, seed: UInt64, levels: UInt64, offset: Double) -> [Double] {
    var s = seed
    return (0..<count).map { _ in
        s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return offset + Double((s >> 33) % levels)
    }
}

// Hollander & Wolfe's permeability data, the example of R's ?wilcox.test (there x = b, y = a).
private let permeabilityA = [1.15, 0.88, 0.90, 0.74, 1.21]
private let permeabilityB = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]

@Suite struct MannWhitneyTests {
    @Test func separatedSamplesGiveTheExactMinimum() throws {
        let r = try #require(RS.mannWhitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]))
        #expect(r.exact)
        #expect(r.u == 25)
        #expect(near(r.p, 2.0 / 252, relative: 1e-12))
        // Swapping the sides mirrors U and keeps p.
        let s = try #require(RS.mannWhitney([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]))
        #expect(s.u == 0 && near(s.p, r.p, relative: 1e-12))
    }

    @Test func exactSmallUnequalSizes() throws {
        // R's help page prints W = 35, one-sided p = 0.1272 for this data.
        let r = try #require(RS.mannWhitney(permeabilityA, permeabilityB))
        #expect(r.exact && r.u == 35)
        #expect(near(r.p, 0.2544122544122544))

        let a = [12.1, 15.3, 11.8, 14.0, 13.2, 16.7, 12.9]
        let b = [14.4, 17.2, 15.9, 13.5, 18.1, 16.2, 14.8, 19.0, 15.1, 13.9, 17.7, 16.0]
        let s = try #require(RS.mannWhitney(a, b))
        #expect(s.exact && s.u == 69)
        #expect(near(s.p, 0.022108438517107247))
    }

    @Test func exactAtTheSizeLimit() throws {
        let a = (0..<50).map { Double(($0 * 37 + 11) % 101) }
        let b = (0..<50).map { Double(($0 * 53 + 5) % 103) + 7.5 }
        let r = try #require(RS.mannWhitney(a, b))
        #expect(r.exact && r.u == 1383)
        #expect(near(r.p, 0.3625934497924002))
        // The far tail keeps its relative precision: 2 / C(100, 50).
        let s = try #require(RS.mannWhitney((0..<50).map(Double.init), (50..<100).map(Double.init)))
        #expect(s.exact && s.u == 2500)
        #expect(near(s.p, 1.9823306042836686e-29))
    }

    @Test func tiesUseTheCorrectedNormalApproximation() throws {
        let r = try #require(RS.mannWhitney([1, 2, 2, 3, 4], [2, 3, 3, 5, 6, 6]))
        #expect(!r.exact && r.u == 24)
        #expect(near(r.p, 0.1130499788563229))
        let s = try #require(RS.mannWhitney([101, 103, 103, 102], [104, 103, 105, 105, 106, 104, 103, 107, 102]))
        #expect(!s.exact && s.u == 31.5)
        #expect(near(s.p, 0.04107690290648808))
    }

    @Test func identicalSamplesGivePOne() throws {
        let x: [Double] = [3, 1, 4, 1, 5]
        let r = try #require(RS.mannWhitney(x, x))
        #expect(r.u == 12.5 && r.p == 1)
        let constant = try #require(RS.mannWhitney([2, 2, 2], [2, 2]))
        #expect(constant.u == 3 && constant.p == 1 && !constant.exact)
        let single = try #require(RS.mannWhitney([1], [2]))
        #expect(single.exact && single.u == 1 && single.p == 1)
    }

    @Test func largeSamplesUseTheNormalApproximation() throws {
        let a = (0..<40).map { Double(($0 * 37 + 11) % 97) }
        let b = (0..<60).map { Double(($0 * 53 + 5) % 89) + 0.5 }
        let r = try #require(RS.mannWhitney(a, b))
        #expect(!r.exact && r.u == 1052)
        #expect(near(r.p, 0.2993602066661146))
        let tied = (0..<60).map { Double(($0 * 53 + 5) % 89) }
        let s = try #require(RS.mannWhitney(a, tied))
        #expect(!s.exact && s.u == 1039.5)
        #expect(near(s.p, 0.2602330290255439))
    }

    @Test func emptyOrNonFiniteGiveNil() {
        #expect(RS.mannWhitney([], [1]) == nil)
        #expect(RS.mannWhitney([1], []) == nil)
        #expect(RS.mannWhitney([1, .nan], [2]) == nil)
        #expect(RS.mannWhitney([1], [.infinity]) == nil)
    }

    @Test func uCountsMatchEnumeration() {
        for (m, n) in [(1, 1), (1, 6), (3, 4), (5, 5), (6, 3), (7, 8)] {
            let counts = enumeratedUCounts(m, n)
            let total = counts.reduce(0, +)
            var running = 0.0
            let expected = counts.map { running += $0; return running / total }
            let cdf = RS.uLowerCDF(m, n, upTo: m * n)
            #expect(cdf.count == expected.count)
            for k in cdf.indices { #expect(near(cdf[k], expected[k], relative: 1e-12), "m \(m) n \(n) k \(k)") }
        }
    }

    @Test func uDistributionMatchesExactIntegers() {
        // P(U ≤ k) from exact integer counts (Python), through the cancellation-prone middle.
        let cases: [(Int, Int, [(Int, Double)])] = [
            (50, 50, [(0, 9.911653021418339e-30), (10, 1.3777197699771492e-27), (625, 4.977474989119884e-06),
                      (1250, 0.5013688955007638)]),
            (7, 50, [(0, 3.78235088206465e-09), (10, 4.992703164325338e-07), (87, 0.01560404317574713),
                     (175, 0.504742651947512)]),
            (33, 41, [(0, 8.781407907537308e-22), (10, 1.2206156991476858e-19), (338, 8.316967917538105e-05),
                      (676, 0.5)]),
        ]
        for (m, n, points) in cases {
            let cdf = RS.uLowerCDF(m, n, upTo: m * n / 2)
            for (k, p) in points { #expect(near(cdf[k], p, relative: 1e-9), "m \(m) n \(n) k \(k)") }
        }
    }
}

@Suite struct HodgesLehmannTests {
    @Test func handComputedFiveVersusFive() throws {
        // Differences j - i + 5 for i, j in 1...5: value v appears 5 - |v - 5| times. C(10,5) = 252 and
        // P(U ≤ 2) = 4/252 ≤ 0.025 < P(U ≤ 3) = 7/252, so k = 3 at 95%; P(U ≤ 4) = 12/252 ≤ 0.05, so k = 5
        // at 90%.
        let a: [Double] = [1, 2, 3, 4, 5], b: [Double] = [6, 7, 8, 9, 10]
        #expect(RS.hodgesLehmann(a, b) == RS.Shift(estimate: 5, lower: 2, upper: 8))
        #expect(RS.hodgesLehmann(a, b, confidence: 0.9) == RS.Shift(estimate: 5, lower: 3, upper: 7))
        #expect(RS.shiftRank(5, 5, confidence: 0.95) == 3)
        #expect(RS.shiftRank(5, 5, confidence: 0.90) == 5)
        // Exactly 1 - 8/252 still selects k = 3.
        #expect(RS.shiftRank(5, 5, confidence: 1 - 8.0 / 252) == 3)
    }

    @Test func twoVersusTwoHasNoInterval() throws {
        // P(U ≤ 0) = 1/6: no interval above 2/3 confidence.
        let r = try #require(RS.hodgesLehmann([1, 2], [3, 5]))
        #expect(r.estimate == 2.5 && r.lower == nil && r.upper == nil)
        #expect(RS.hodgesLehmann([1, 2], [3, 5], confidence: 0.6) == RS.Shift(estimate: 2.5, lower: 1, upper: 4))
    }

    @Test func permeabilityExample() throws {
        // Estimate 0.305 (R's "difference in location"); k = 9 of 50 differences.
        let r = try #require(RS.hodgesLehmann(permeabilityA, permeabilityB))
        #expect(abs(r.estimate - 0.305) < 1e-12)
        #expect(abs(try #require(r.lower) - -0.15) < 1e-12)
        #expect(abs(try #require(r.upper) - 0.76) < 1e-12)
        #expect(r == bruteShift(permeabilityA, permeabilityB, confidence: 0.95))
    }

    @Test func matchesBruteForce() {
        var seed: UInt64 = 1
        for (m, n) in [(1, 1), (1, 5), (3, 3), (3, 7), (4, 6), (6, 6), (8, 5), (7, 9)] {
            for levels: UInt64 in [5, 1000] {
                seed += 1
                let a = sample(m, seed: seed, levels: levels, offset: 0)
                let b = sample(n, seed: seed * 31, levels: levels, offset: 2)
                for confidence in [0.5, 0.8, 0.9, 0.95, 0.99] {
                    #expect(RS.hodgesLehmann(a, b, confidence: confidence) == bruteShift(a, b, confidence: confidence),
                            "m \(m) n \(n) levels \(levels) confidence \(confidence)")
                }
            }
        }
    }

    @Test func largeSamplesMatchSortedDifferences() throws {
        // Normal-approximation rank (both sides past exactLimit), with heavy ties in the differences.
        let a = sample(120, seed: 7, levels: 40, offset: 100)
        let b = sample(90, seed: 8, levels: 40, offset: 103)
        let d = b.flatMap { y in a.map { y - $0 } }.sorted()
        let k = RS.shiftRank(120, 90, confidence: 0.95)
        #expect(k > 1)
        let r = try #require(RS.hodgesLehmann(a, b))
        #expect(r.estimate == (d[(d.count - 1) / 2] + d[d.count / 2]) / 2)
        #expect(r.lower == d[k - 1] && r.upper == d[d.count - k])
    }

    @Test func normalRankTracksTheExactRank() {
        // Exact ranks from Python integer arithmetic. The approximation errs wide (the exact tails are
        // lighter than the normal's), by at most 2 ranks here once both sides are large.
        let exact: [(Int, Int, Double, Int)] = [
            (50, 50, 0.95, 966), (50, 50, 0.99, 878), (50, 50, 0.5, 1152),
            (7, 50, 0.95, 95), (7, 50, 0.99, 72), (33, 41, 0.95, 497), (33, 41, 0.99, 441), (33, 41, 0.5, 614),
        ]
        for (m, n, confidence, k) in exact {
            #expect(RS.shiftRank(m, n, confidence: confidence) == k, "m \(m) n \(n) confidence \(confidence)")
            let halfAlpha = (1 - confidence) / 2
            let mn = Double(m * n), sigma = (mn * Double(m + n + 1) / 12).squareRoot()
            let normal = Int((mn / 2 + 0.5 - RS.normalUpperQuantile(halfAlpha) * sigma).rounded(.down))
            #expect(normal <= k && k - normal <= (m < 10 ? 3 : 2), "m \(m) n \(n) confidence \(confidence) normal \(normal)")
        }
    }

    @Test func normalQuantile() {
        #expect(abs(RS.normalUpperQuantile(0.025) - 1.959963984540054) < 1e-12)
        #expect(abs(RS.normalUpperQuantile(0.005) - 2.5758293035489004) < 1e-12)
        #expect(abs(RS.normalUpperQuantile(0.5)) < 1e-12)
    }

    @Test func emptyOrNonFiniteGiveNil() {
        #expect(RS.hodgesLehmann([], [1]) == nil)
        #expect(RS.hodgesLehmann([1], [.nan]) == nil)
    }
}

@Suite struct HolmTests {
    @Test func matchesStatsmodels() {
        let adjusted = RS.holm([0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.9])
        let expected = [0.06, 0.16, 0.15, 0.035, 0.4, 0.16, 0.9]
        #expect(adjusted.count == expected.count)
        for (x, y) in zip(adjusted, expected) { #expect(near(x, y, relative: 1e-12)) }
        let small = RS.holm([0.5, 0.01, 0.02])
        for (x, y) in zip(small, [0.5, 0.03, 0.04]) { #expect(near(x, y, relative: 1e-12)) }
    }

    @Test func monotoneAndCapped() {
        // Sorted: 0.01·4 = 0.04, 0.2·3 = 0.6, 0.22·2 = 0.44 lifted to 0.6, 0.9·1 (statsmodels agrees).
        let adjusted = RS.holm([0.2, 0.22, 0.01, 0.9])
        for (x, y) in zip(adjusted, [0.6, 0.6, 0.04, 0.9]) { #expect(near(x, y, relative: 1e-12)) }
        #expect(RS.holm([0.6, 0.7]) == [1, 1])
        #expect(RS.holm([]) == [])
        #expect(RS.holm([0.04]) == [0.04])
    }

    @Test func nanStaysInPlaceAndIsNotCounted() {
        let adjusted = RS.holm([0.01, .nan, 0.02])
        #expect(adjusted[1].isNaN)
        #expect(near(adjusted[0], 0.02) && near(adjusted[2], 0.02))
    }
}

@Suite struct RankStatisticsOneSampleTests {
    @Test func median() {
        #expect(RS.median([]) == nil)
        #expect(RS.median([3]) == 3)
        #expect(RS.median([5, 1, 3]) == 3)
        #expect(RS.median([4, 1, 3, 2]) == 2.5)
        #expect(RS.median([1, .nan]) == nil)
        let x = sample(1001, seed: 3, levels: 50, offset: 0)
        #expect(RS.median(x) == x.sorted()[500])
        let y = sample(1000, seed: 4, levels: 1_000_000, offset: 0), s = y.sorted()
        #expect(RS.median(y) == (s[499] + s[500]) / 2)
    }

    @Test func coefficientOfVariation() throws {
        // Mean 5, sample variance 32/7.
        let cv = try #require(RS.coefficientOfVariation([2, 4, 4, 4, 5, 5, 7, 9]))
        #expect(near(cv, (32.0 / 7).squareRoot() / 5, relative: 1e-12))
        #expect(near(try #require(RS.coefficientOfVariation([-2, -4, -4, -4, -5, -5, -7, -9])), cv, relative: 1e-12))
        #expect(RS.coefficientOfVariation([1]) == nil)
        #expect(RS.coefficientOfVariation([-1, 1]) == nil)
        #expect(RS.coefficientOfVariation([3, 3, 3]) == 0)
    }

    @Test func medianIntervalRanks() throws {
        // Ranks k from scipy.stats.binom: largest k with binom.cdf(k - 1, n, 1/2) ≤ (1 - confidence)/2.
        #expect(RS.medianInterval([1, 2, 3, 4, 5]) == nil)  // 2/32 > 0.05
        for (n, k95, k90) in [(6, 1, 1), (10, 2, 2), (20, 6, 6), (100, 40, 42), (1000, 469, 474), (5000, 2431, 2442)] {
            let x = (1...n).reversed().map(Double.init)
            let r95 = try #require(RS.medianInterval(x))
            #expect(r95.lower == Double(k95) && r95.upper == Double(n + 1 - k95), "n \(n)")
            let r90 = try #require(RS.medianInterval(x, confidence: 0.9))
            #expect(r90.lower == Double(k90) && r90.upper == Double(n + 1 - k90), "n \(n)")
        }
        // 2·P(B ≤ 0) = 2/32: enough for 90% but not for 95%.
        let five = try #require(RS.medianInterval([5, 3, 1, 4, 2], confidence: 0.9))
        #expect(five.lower == 1 && five.upper == 5)
        #expect(RS.medianInterval([]) == nil)
        #expect(RS.medianInterval([1, .infinity, 3, 4, 5, 6, 7]) == nil)
    }

    /// Large samples take the listing-free path; it must give exactly what sorting every difference gives.
    @Test func largeSamplesMatchTheSortedDifferences() throws {
        var rng: UInt64 = 12345
        func next() -> Double {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Double(rng >> 11) / Double(1 << 53)
        }
        // With ties and negative and positive differences.
        let a = (0..<130).map { _ in (next() * 40).rounded() / 4 - 3 }
        let b = (0..<95).map { _ in (next() * 40).rounded() / 4 - 1 }
        #expect(a.count * b.count > RankStatistics.largeShiftLimit)
        let d = b.flatMap { y in a.map { y - $0 } }.sorted()
        let sa = a.sorted(), sb = b.sorted()
        for k in [1, 2, 17, d.count / 2, d.count / 2 + 1, d.count - 1, d.count] {
            #expect(RankStatistics.kthDifference(sa, sb, k) == d[k - 1], "k = \(k)")
        }
        let shift = try #require(RankStatistics.hodgesLehmann(a, b))
        #expect(shift.estimate == (d[(d.count - 1) / 2] + d[d.count / 2]) / 2)
        let k = RankStatistics.shiftRank(a.count, b.count, confidence: 0.95)
        #expect(shift.lower == d[k - 1] && shift.upper == d[d.count - k])
    }
}
