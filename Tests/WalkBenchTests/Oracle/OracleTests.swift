import Testing
@testable import WalkBench

/// The oracle must see a free that lands inside a walker's window, and only then. These tests force
/// the free at a chosen point (no threads, no luck).
@Suite struct OracleTests {
    static func populated() throws -> (AddressSpace, NoProtection, Range<UInt64>) {
        let (mm, none, vma) = try AddressSpaceTests.makeSpace(.x86_64_4level, bytes: 4 << 20)
        var rng = SplitMix64(seed: 11)
        try mm.populate(vma, density: 1, hugeFraction: 0, rng: &rng)
        return (mm, none, vma)
    }

    @Test func quiescentWalkIsClean() throws {
        let (mm, _, vma) = try Self.populated()
        var walker = LookupWalker(mm: mm, options: WalkOptions())
        var window = Window(protection: NoProtection(ProtectionContext(mm: mm, cpuCount: 1)), cpu: 0, log: OracleOn(pool: mm.pool, capacity: walker.oracleCapacity))
        defer { window.log.release() }
        window.log.begin()
        let r = walker.walk(at: vma.lowerBound + 12345, window: &window)
        #expect(r.leaves == 1)
        #expect(!(window.log.readFreedTable() as Bool))
    }

    @Test func freeInsideTheWindowIsDetected() throws {
        let (mm, none, vma) = try Self.populated()
        var walker = LookupWalker(mm: mm, options: WalkOptions())
        var window = Window(protection: NoProtection(ProtectionContext(mm: mm, cpuCount: 1)), cpu: 0, log: OracleOn(pool: mm.pool, capacity: walker.oracleCapacity))
        defer { window.log.release() }
        window.log.begin()
        _ = walker.walk(at: vma.lowerBound + 4096, window: &window)
        // The window is still open: a writer unmaps the chunk and `none` frees its PTE table now.
        #expect(try mm.unmap(vma.lowerBound..<(vma.lowerBound + (2 << 20)), protection: none, cpu: 1) == 1)
        #expect((window.log.readFreedTable() as Bool))
    }

    @Test func freeOfATableTheWalkerDidNotReadIsNotCounted() throws {
        let (mm, none, vma) = try Self.populated()
        var walker = LookupWalker(mm: mm, options: WalkOptions())
        var window = Window(protection: NoProtection(ProtectionContext(mm: mm, cpuCount: 1)), cpu: 0, log: OracleOn(pool: mm.pool, capacity: walker.oracleCapacity))
        defer { window.log.release() }
        window.log.begin()
        _ = walker.walk(at: vma.lowerBound + 4096, window: &window)
        // The other PTE table goes; the walker never followed it.
        #expect(try mm.unmap((vma.lowerBound + (2 << 20))..<vma.upperBound, protection: none, cpu: 1) == 1)
        #expect(!(window.log.readFreedTable() as Bool))
    }

    @Test func readingAFreedTableSeesPoison() throws {
        let (mm, none, vma) = try Self.populated()
        let address = vma.lowerBound + 8192
        // Where the walker is about to read: the PTE table the pmd points at.
        let pmdTable = try #require(try mm.table(at: 2, for: address, create: false))
        let pmdEntry = mm.pool.load(pmdTable, mm.math.index(address, level: 2))
        var window = Window(protection: NoProtection(ProtectionContext(mm: mm, cpuCount: 1)), cpu: 0, log: OracleOn(pool: mm.pool, capacity: 5))
        defer { window.log.release() }
        window.log.begin()
        window.log.followed(pmdEntry.tableIndex, linkedAt: pmdEntry.generation)
        try mm.unmap(vma.lowerBound..<(vma.lowerBound + (2 << 20)), protection: none, cpu: 1)
        // The walker's stale pointer now reads the freed page.
        let stale = mm.pool.load(pmdEntry.tableIndex, mm.math.index(address, level: 3))
        #expect(stale.isPoison)
        window.log.sawPoison()
        #expect((window.log.readFreedTable() as Bool))
    }

    @Test func reuseAfterFreeIsDetectedEvenWithoutPoison() throws {
        let (mm, none, vma) = try Self.populated()
        var walker = LookupWalker(mm: mm, options: WalkOptions())
        var window = Window(protection: NoProtection(ProtectionContext(mm: mm, cpuCount: 1)), cpu: 0, log: OracleOn(pool: mm.pool, capacity: walker.oracleCapacity))
        defer { window.log.release() }
        let chunk = vma.lowerBound..<(vma.lowerBound + (2 << 20))
        window.log.begin()
        _ = walker.walk(at: chunk.lowerBound, window: &window)
        try mm.unmap(chunk, protection: none, cpu: 1)
        var rng = SplitMix64(seed: 12)
        try mm.populate(chunk, density: 1, hugeFraction: 0, rng: &rng)  // the freed page is reused at once
        #expect((window.log.readFreedTable() as Bool))
    }

    @Test func oracleOffNeverReports() throws {
        let (mm, none, vma) = try Self.populated()
        var walker = LookupWalker(mm: mm, options: WalkOptions())
        var window = Window(protection: NoProtection(ProtectionContext(mm: mm, cpuCount: 1)), cpu: 0, log: OracleOff(pool: mm.pool, capacity: 5))
        window.log.begin()
        _ = walker.walk(at: vma.lowerBound, window: &window)
        try mm.unmap(vma, protection: none, cpu: 1)
        #expect(!(window.log.readFreedTable() as Bool))
    }

    @Test func logOverflowStillChecksEveryTable() throws {
        let (mm, none, vma) = try Self.populated()
        var window = Window(protection: NoProtection(ProtectionContext(mm: mm, cpuCount: 1)), cpu: 0, log: OracleOn(pool: mm.pool, capacity: 1))
        defer { window.log.release() }
        let pmdTable = try #require(try mm.table(at: 2, for: vma.lowerBound, create: false))
        let first = mm.pool.load(pmdTable, mm.math.index(vma.lowerBound, level: 2))
        window.log.begin()
        window.log.followed(first.tableIndex, linkedAt: first.generation)
        try mm.unmap(vma.lowerBound..<(vma.lowerBound + (2 << 20)), protection: none, cpu: 1)
        window.log.followed(mm.root, linkedAt: mm.pool.generation(mm.root))  // overflows: the first is checked now
        #expect((window.log.readFreedTable() as Bool))
    }
}
