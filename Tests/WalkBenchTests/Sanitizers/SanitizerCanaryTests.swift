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

    /// A walker reading a table freed under it (freed without being unlinked, as a broken strategy
    /// would): with WALKBENCH_ASAN_POISON=1 AddressSanitizer must report a use-after-poison on the
    /// walker's own load, the check it makes of the oracle in the safe-strategy runs.
    @Test(.enabled(if: enabled("WALKBENCH_ASAN_CANARY")))
    func plantedReadOfAFreedTable() throws {
        #expect(TablePool.poisonsFreedTablesForASan, "needs an ASan build and WALKBENCH_ASAN_POISON=1")
        let g = Geometry.x86_64_4level
        let (mm, none, vma) = try AddressSpaceTests.makeSpace(g, bytes: g.pteTableCoverage)
        var rng = SplitMix64(seed: 3)
        try mm.populate(vma, density: 1, hugeFraction: 0, rng: &rng)
        let leaf = try #require(try mm.table(at: mm.lastLevel, for: vma.lowerBound, create: false))
        mm.pool.noteRetired(leaf, bytes: 4096)
        mm.pool.free(leaf)  // the pmd still points at it: the planted bug
        var walker = LookupWalker(mm: mm, options: WalkOptions())
        var window = Window(protection: none, cpu: 0, log: OracleOn(pool: mm.pool, capacity: walker.oracleCapacity))
        defer { window.log.release() }
        window.log.begin()
        _ = walker.walk(at: vma.lowerBound, window: &window)  // ASan stops the process here
        let tainted = window.log.readFreedTable()
        #expect(tainted)
    }
}
