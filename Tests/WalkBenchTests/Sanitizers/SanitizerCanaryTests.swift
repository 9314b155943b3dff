import Foundation
import Testing
@testable import WalkBench

/// Planted bugs that prove a sanitizer run is live: each is enabled only by its environment variable
/// (scripts/sanitize sets it, in a run of its own) and must make the sanitizer report. In every other
/// run they are skipped.
@Suite struct SanitizerCanaryTests {
    static func enabled(_ name: String) -> Bool { ProcessInfo.processInfo.environment[name] == "1" }

    /// A plain variable written by two threads with nothing ordering them: ThreadSanitizer must report
    /// a data race.
    @Test(.enabled(if: enabled("WALKBENCH_TSAN_CANARY")))
    func plantedDataRace() throws {
        final class Box: @unchecked Sendable { var value = 0 }
        let box = Box()
        let threads = try (0..<2).map { _ in try CPUThread { for _ in 0..<10_000 { box.value += 1 } } }
        for t in threads { t.join() }
        #expect(box.value > 0)
    }

    /// A table freed (and, with WALKBENCH_ASAN_POISON=1, poisoned) and then read: AddressSanitizer must
    /// report a use-after-poison, the check it makes of the oracle in the safe-strategy runs.
    @Test(.enabled(if: enabled("WALKBENCH_ASAN_CANARY")))
    func plantedReadOfAFreedTable() throws {
        #expect(TablePool.poisonsFreedTablesForASan, "needs an ASan build and WALKBENCH_ASAN_POISON=1")
        let pool = try TablePool(slotEntries: 512, capacity: 4)
        let t = try pool.allocate()
        pool.noteRetired(t, bytes: 4096)
        pool.free(t)
        let raw = UnsafeRawPointer(pool.table(t)).load(as: UInt64.self)  // the planted read
        #expect(raw == Entry.poison.raw)
    }
}
