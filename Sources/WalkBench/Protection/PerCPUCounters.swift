import Synchronization

/// One word per simulated CPU, each on its own pair of cache lines: what a per-CPU variable is.
/// Used for in-walk flags (irq-disable-membarrier) and per-CPU walker counts (counted-percpu).
public final class PerCPUCounters: @unchecked Sendable {
    // @unchecked Sendable: atomics only.
    /// Bytes per CPU: a pair of cache lines, against the adjacent-line prefetcher.
    static let slotBytes = 128
    static let stride = slotBytes / MemoryLayout<Atomic<Int>>.stride
    private let words: UnsafeMutablePointer<Atomic<Int>>
    public let count: Int
    /// The word `waitForZero` is spinning on, or -1 (forced schedules read it).
    private let waitingOn = Atomic<Int>(-1)

    public init(cpuCount: Int) {
        count = cpuCount
        // Aligned to the slot, as each CPU's per-CPU data is its own: a plain allocation is only 16-byte
        // aligned, so a slot could share a line with the previous slot's word or with whatever the heap
        // put before the array.
        words = UnsafeMutableRawPointer.allocate(byteCount: cpuCount * Self.slotBytes, alignment: Self.slotBytes)
            .bindMemory(to: Atomic<Int>.self, capacity: cpuCount * Self.stride)
        for i in 0..<(cpuCount * Self.stride) { (words + i).initialize(to: Atomic(0)) }
    }

    deinit { UnsafeMutableRawPointer(words).deallocate() }

    @inline(__always) public subscript(cpu: Int) -> Atomic<Int> {
        unsafeAddress { UnsafePointer(slot(cpu)) }
    }

    /// Where CPU `cpu`'s word lives.
    @inline(__always) func slot(_ cpu: Int) -> UnsafeMutablePointer<Atomic<Int>> { words + cpu &* Self.stride }

    /// Spins until every CPU but `except` (-1: none) has been seen at zero once.
    public func waitForZero(except: Int) {
        defer { waitingOn.store(-1, ordering: .relaxed) }
        for other in 0..<count where other != except {
            waitingOn.store(other, ordering: .relaxed)
            var spins = 0
            while self[other].load(ordering: .relaxed) != 0 {
                wb_cpu_relax()
                spins &+= 1
                if spins & 1023 == 0 { sched_yield() }  // oversubscribed: the walker may need this core
            }
        }
    }

    /// A waiter is spinning on word `index` and it is not zero: whoever holds it must let go first.
    public func waitHeldBack(on index: Int, what: String) -> String? {
        guard waitingOn.load(ordering: .relaxed) == index else { return nil }
        let v = self[index].load(ordering: .relaxed)
        return v == 0 ? nil : "the freer waits for \(what) (\(v)) to read zero"
    }
}

import CWalkSupport
#if canImport(Glibc)
import Glibc
#endif
