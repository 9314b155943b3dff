import Testing
import Histogram
@testable import WalkBench

@Suite struct StatisticsTests {
    @Test func median() {
        #expect(Statistics.median([]) == nil)
        #expect(Statistics.median([3]) == 3)
        #expect(Statistics.median([5, 1, 3]) == 3)
        #expect(Statistics.median([4, 1, 3, 2]) == 2.5)
    }

    @Test func mean() {
        #expect(Statistics.mean([1, 2, 3, 6]) == 3)
        #expect(Statistics.mean([]) == nil)
    }

    @Test func percentilesOfKnownValues() {
        var h = Histogram<UInt64>(highestTrackableValue: 1 << 20, numberOfSignificantValueDigits: .three)
        for v in 1...1000 { _ = h.record(UInt64(v)) }
        let tb = TimeBase(source: .monotonic, ticksPerNanosecond: 2, overheadTicks: 0, note: nil)
        // Ticks at 2 per ns: the 50th percentile of 1...1000 ticks is 500 ticks = 250 ns.
        #expect(abs(Statistics.percentile(h, 50, timeBase: tb)! - 250) <= 0.5)
        #expect(abs(Statistics.percentile(h, 99, timeBase: tb)! - 495) <= 0.5)
        let empty = Histogram<UInt64>(highestTrackableValue: 1 << 20, numberOfSignificantValueDigits: .three)
        #expect(Statistics.percentile(empty, 50, timeBase: tb) == nil)
    }

    @Test func timerCalibrationIsSane() {
        let tb = TimeBase.calibrate(invariantTSC: RunEnvironment.capture().invariantTSC, window: 10_000_000)
        #expect(tb.ticksPerNanosecond > 0.1 && tb.ticksPerNanosecond < 10)
        #expect(tb.overheadNanoseconds >= 0 && tb.overheadNanoseconds < 10_000)
        let a = tb.now()
        let b = tb.now()
        #expect(b >= a)
    }

    @Test func splitMixBelowStaysInBounds() {
        var rng = SplitMix64(seed: 1)
        for bound in [1, 2, 3, 1000, UInt64.max] as [UInt64] {
            for _ in 0..<1000 { #expect(rng.below(bound) < bound) }
        }
        for _ in 0..<1000 { let u = rng.unit(); #expect(u >= 0 && u < 1) }
    }
}
