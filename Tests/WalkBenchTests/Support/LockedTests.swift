import Testing
@testable import WalkBench

@Suite struct LockedTests {
    /// Increments from two threads at once: the lock must lose none (and `make tsan` sees it as a lock).
    @Test func incrementsFromTwoThreadsAllCount() throws {
        let counter = Locked(0)
        let threads = try (0..<2).map { _ in try CPUThread { for _ in 0..<20_000 { counter.withLock { $0 += 1 } } } }
        for t in threads { t.join() }
        #expect(counter.withLock { $0 } == 40_000)
    }
}
