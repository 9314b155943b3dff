import Synchronization

/// One word per simulated CPU, each on its own pair of cache lines: what a per-CPU variable is.
/// Used for in-walk flags (irq-disable-membarrier) and per-CPU walker counts (counted-percpu).
public final class PerCPUCounters: @unchecked Sendable {
    // @unchecked Sendable: atomics only.
    static let stride = 128 / MemoryLayout<Atomic<Int>>.stride
    private let words: UnsafeMutablePointer<Atomic<Int>>
    public let count: Int

    public init(cpuCount: Int) {
        count = cpuCount
        words = .allocate(capacity: cpuCount * Self.stride)
        for i in 0..<(cpuCount * Self.stride) { (words + i).initialize(to: Atomic(0)) }
    }

    deinit { words.deallocate() }

    @inline(__always) public subscript(cpu: Int) -> Atomic<Int> {
        unsafeAddress { UnsafePointer(words + cpu &* Self.stride) }
    }

    /// Spins until every CPU but `except` (-1: none) has been seen at zero once.
    public func waitForZero(except: Int) {
        for other in 0..<count where other != except {
            var spins = 0
            while self[other].load(ordering: .relaxed) != 0 {
                wb_cpu_relax()
                spins &+= 1
                if spins & 1023 == 0 { sched_yield() }  // oversubscribed: the walker may need this core
            }
        }
    }
}

import CWalkSupport
#if canImport(Glibc)
import Glibc
#endif
