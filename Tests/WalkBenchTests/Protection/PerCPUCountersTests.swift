import Synchronization
import Testing
@testable import WalkBench

/// Per-CPU words must each own their pair of cache lines, wherever the heap puts the array: a slot
/// that shares a line with another CPU's word or with unrelated data is not per-CPU data.
@Suite struct PerCPUCountersTests {
    @Test(arguments: [1, 2, 3, 16])
    func everySlotStartsItsOwnPairOfLines(_ cpus: Int) {
        // Several arrays, with other allocations between them, so a lucky heap cannot pass the test.
        var keep: [PerCPUCounters] = []
        var spacers: [[UInt8]] = []
        for k in 0..<8 {
            spacers.append([UInt8](repeating: 0, count: 8 + k * 24))
            keep.append(PerCPUCounters(cpuCount: cpus))
        }
        for counters in keep {
            for cpu in 0..<cpus {
                let address = UInt(bitPattern: counters.slot(cpu))
                #expect(address % 128 == 0, "cpu \(cpu)'s word at \(address) is not on a 128-byte boundary")
            }
        }
        _ = spacers.count
    }

    @Test func slotsAreIndependentWords() {
        let counters = PerCPUCounters(cpuCount: 4)
        counters[1].add(5, ordering: .relaxed)
        counters[3].add(7, ordering: .relaxed)
        #expect((0..<4).map { counters[$0].load(ordering: .relaxed) } == [0, 5, 0, 7])
    }
}
