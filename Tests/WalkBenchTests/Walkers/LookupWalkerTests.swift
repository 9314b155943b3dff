import Testing
@testable import WalkBench

@Suite struct LookupWalkerTests {
    /// On a quiescent table, a lookup finds exactly what the writer mapped: frame = address >> page shift.
    @Test(arguments: Geometry.presets)
    func findsWhatWasMapped(_ g: Geometry) throws {
        let (mm, none, vma) = try AddressSpaceTests.makeSpace(g, bytes: 4 * g.pteTableCoverage)
        var rng = SplitMix64(seed: 21)
        try mm.populate(vma, density: 0.7, hugeFraction: 0.5, rng: &rng)
        var walker = LookupWalker(mm: mm, options: WalkOptions(takeReference: true))
        var window = Window(protection: NoProtection(ProtectionContext(mm: mm, cpuCount: 1)), cpu: 0, log: OracleOn(pool: mm.pool, capacity: walker.oracleCapacity))
        defer { window.log.release() }
        let reference = Self.mappedPages(mm)
        var hits = 0
        for _ in 0..<3000 {
            let address = vma.lowerBound + rng.below(vma.upperBound - vma.lowerBound)
            window.log.begin()
            let r = walker.walk(at: address, window: &window)
            #expect(!(window.log.readFreedTable() as Bool))
            if let frame = reference[address & ~(g.pageSize - 1)] {
                hits += 1
                #expect(r == WalkResult(leaves: 1, frameSum: frame))
            } else {
                #expect(r == .absent)
            }
        }
        #expect(hits > 0)
        // Every reference taken was dropped.
        for _ in 0..<100 { #expect(mm.pageRefs.count(rng.below(1 << 30)) == 0) }
        try mm.tearDown(protection: none, cpu: 0)
    }

    /// Every mapped page and its frame, by enumerating the whole table (independent of the walker's path).
    static func mappedPages(_ mm: AddressSpace) -> [UInt64: UInt64] {
        var pages: [UInt64: UInt64] = [:]
        func visit(_ t: TableIndex, _ level: Int, _ base: UInt64) {
            let l = mm.geometry.levels[level]
            for slot in 0..<l.entries {
                let start = base + UInt64(slot) << UInt64(l.shift)
                let e = mm.pool.load(t, slot)
                if e.isTable { visit(e.tableIndex, level + 1, start) }
                else if e.isPresent {
                    for i in 0..<(l.coverage / mm.geometry.pageSize) { pages[start + i * mm.geometry.pageSize] = e.frame + i }
                }
            }
        }
        visit(mm.root, 0, 0)
        return pages
    }

    @Test func unmappedAddressIsAbsent() throws {
        let (mm, _, vma) = try AddressSpaceTests.makeSpace(.x86_64_4level, bytes: 2 << 20)
        var walker = LookupWalker(mm: mm, options: WalkOptions())
        var window = Window(protection: NoProtection(ProtectionContext(mm: mm, cpuCount: 1)), cpu: 0, log: OracleOff(pool: mm.pool, capacity: 5))
        #expect(walker.walk(at: vma.lowerBound, window: &window) == .absent)
    }

    @Test func registryListsLookup() {
        #expect(Walkers.names.contains("lookup"))
        #expect(Set(Walkers.names).count == Walkers.names.count)
    }
}
