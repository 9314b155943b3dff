import Foundation
import Histogram
import Testing
@testable import WalkBench

@Suite struct HostLoadTests {
    @Test func readsThisMachine() throws {
        let before = try #require(HostLoad.now(), "/proc/stat and /proc/self/stat are readable on Linux")
        // Burn a little CPU in this process: it is ours, not other processes'.
        var x: UInt64 = 1
        for i in 0..<5_000_000 { x = x &* 6364136223846793005 &+ UInt64(i) }
        #expect(x != 0)
        Runner.sleep(seconds: 0.05)
        let d = try #require(HostLoad.now()?.since(before))
        #expect(d.otherCPUPercent >= 0 && d.otherCPUPercent <= 100)
        #expect(d.stealPercent >= 0 && d.stealPercent <= 100)
    }

    @Test func disturbedNeedsMoreThanRounding() {
        // 16 ticks in all (80 ms on 2 CPUs): 2 ticks of rounding (12.5 %) is not a disturbance, 50 % is.
        #expect(!Disturbance(otherCPUPercent: 12.5, stealPercent: 0, ticks: 16).isDisturbed)
        #expect(Disturbance(otherCPUPercent: 50, stealPercent: 0, ticks: 16).isDisturbed)
        // Over a long interval the plain limits hold.
        #expect(Disturbance(otherCPUPercent: 11, stealPercent: 0, ticks: 1000).isDisturbed)
        #expect(Disturbance(otherCPUPercent: 0, stealPercent: 3, ticks: 1000).isDisturbed)
        #expect(!Disturbance(otherCPUPercent: 9, stealPercent: 1, ticks: 1000).isDisturbed)
    }

    @Test func cpuLists() {
        #expect(CPUList.parse("0-3,8,10-11") == [0, 1, 2, 3, 8, 10, 11])
        #expect(CPUList.parse("5") == [5])
    }

    @Test func preflightWarnsAboutWhatItFinds() {
        var p = Preflight(load: Disturbance(otherCPUPercent: 48, stealPercent: 0, ticks: 60), loadAverage: 1.2, otherRunnable: 1,
                          governor: "powersave", smtSiblings: [[0, 1]], thp: "madvise")
        #expect(p.isBusy)
        #expect(p.warnings.count == 3)
        #expect(p.verdict.contains("48%") && p.verdict.contains("1 other runnable") && p.verdict.contains("powersave") && p.verdict.contains("SMT"))
        p = Preflight(load: Disturbance(otherCPUPercent: 1, stealPercent: 0, ticks: 60), loadAverage: 0, otherRunnable: 0,
                      governor: "none", smtSiblings: [], thp: "never")
        #expect(!p.isBusy && p.verdict == "quiet")
    }
}

@Suite struct PercentileTests {
    @Test func aQuantisedClockIsInterpolated() throws {
        // A clock that steps 26 ticks: 60 % of the samples at 52, 40 % at 78. The plain percentile says
        // 52 for p50; spread over the step, p50 sits 5/6 of the way through the 52 step.
        var h = Histogram<UInt64>(highestTrackableValue: 1 << 40, numberOfSignificantValueDigits: .three)
        for _ in 0..<600 { _ = h.record(52) }
        for _ in 0..<400 { _ = h.record(78) }
        let p50 = try #require(Statistics.interpolatedPercentile(h, 50, quantum: 26))
        #expect(abs(p50 - (39 + 500.0 / 600 * 26)) < 1e-9)
        // With a fine clock it is the value itself (within half a tick).
        let fine = try #require(Statistics.interpolatedPercentile(h, 50, quantum: 1))
        #expect(abs(fine - 52) <= 0.5)
        #expect(Statistics.interpolatedPercentile(Histogram<UInt64>(highestTrackableValue: 100, numberOfSignificantValueDigits: .three), 50, quantum: 1) == nil)
    }
}
