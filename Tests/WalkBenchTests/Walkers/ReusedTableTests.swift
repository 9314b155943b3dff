import Testing
@testable import WalkBench

/// A PTE table freed under a walker and reused at a higher level holds table entries where only
/// ptes can be. Every walker must count that as a use-after-free and stop there, not follow the entry
/// past the last level (a trap on 5-level geometries, a walk with a coverage of 1 elsewhere).
@Suite struct ReusedTableTests {
    /// Runs every registered walker (each dispatch kind) once at `address` with the oracle on.
    struct WalkOnce: WalkerVisitor {
        let mm: AddressSpace
        let address: UInt64
        var tainted: [String: Bool] = [:]
        mutating func visit<W: PageWalker>(_ walker: W.Type) {
            var w = W(mm: mm, options: WalkOptions(span: mm.geometry.pteTableCoverage, takeReference: true))
            var window = Window(protection: NoProtection(ProtectionContext(mm: mm, cpuCount: 1)), cpu: 0,
                                log: OracleOn(pool: mm.pool, capacity: w.oracleCapacity))
            defer { window.log.release() }
            window.log.begin()
            _ = w.walk(at: address, window: &window)
            tainted["\(W.name)/\(W.dispatch)"] = window.log.readFreedTable()
        }
    }

    @Test(arguments: Geometry.presets)
    func aLeafTableReusedHigherUpIsAUseAfterFree(_ g: Geometry) throws {
        let (mm, _, vma) = try AddressSpaceTests.makeSpace(g, bytes: 2 * g.pteTableCoverage)
        var rng = SplitMix64(seed: 7)
        try mm.populate(vma, density: 1, hugeFraction: 0, rng: &rng)
        let address = vma.lowerBound + 3 * g.pageSize
        let leaf = try #require(try mm.table(at: mm.lastLevel, for: address, create: false))
        let other = try #require(try mm.table(at: mm.lastLevel, for: address + g.pteTableCoverage, create: false))
        // Forced reuse: the table is freed (as a broken free path would, with the pmd still pointing at
        // it) and handed out again as an upper-level table, whose entries link tables.
        mm.pool.noteRetired(leaf, bytes: g.levels[mm.lastLevel].entries * 8)
        mm.pool.free(leaf)
        let reused = try mm.pool.allocate()
        #expect(reused == leaf, "the pool hands the freed table out again first")
        for slot in 0..<g.levels[mm.lastLevel].entries {
            mm.pool.storeRelaxed(reused, slot, .table(other, generation: mm.pool.generation(other)))
        }
        var walk = WalkOnce(mm: mm, address: address)
        Walkers.forEach(&walk)
        #expect(walk.tainted.count == Walkers.all.count)
        for (walker, tainted) in walk.tainted { #expect(tainted, "\(walker) on \(g.name) did not report the reused table") }
    }
}
