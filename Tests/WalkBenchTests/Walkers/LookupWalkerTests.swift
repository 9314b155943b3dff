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
            #expect(!(window.log.readFreedPage() as Bool))
            if let frame = reference[address & ~(g.pageSize - 1)] {
                hits += 1
                #expect(r.leaves == 1 && r.frameSum == frame && r.retries == 0 && r.heldFolio != 0)
                #expect(mm.pages.count(r.heldFolio - 1) == Self.mappings(mm)[r.heldFolio - 1]! + 1, "the walk holds one reference")
            } else {
                #expect(r == .absent)
            }
            walker.releasePages(r)
        }
        #expect(hits > 0)
        #expect(Self.referencesBeyondMappings(mm) == 0, "every reference taken was dropped")
        try mm.tearDown(protection: none, cpu: 0)
    }

    /// FOLL_PIN: a small folio is pinned with the bias, a large one with a reference and a _pincount.
    @Test func pinsCountAsTheKernelCountsThem() throws {
        let g = Geometry.x86_64_4level
        let (mm, none, vma) = try AddressSpaceTests.makeSpace(g, bytes: 2 * g.pteTableCoverage)
        var rng = SplitMix64(seed: 5)
        try mm.populate(vma.lowerBound..<(vma.lowerBound + g.pteTableCoverage), density: 1, hugeFraction: 0, rng: &rng)
        try mm.populate((vma.lowerBound + g.pteTableCoverage)..<vma.upperBound, density: 1, hugeFraction: 1, rng: &rng)
        var walker = LookupWalker(mm: mm, options: WalkOptions(takeReference: true, pin: true))
        var window = OracleOffWindow()
        let small = walker.walk(at: vma.lowerBound + g.pageSize, window: &window)
        #expect(mm.pages.count(small.heldFolio - 1) == 1 + PageFrames.pinBias)
        let huge = walker.walk(at: vma.lowerBound + g.pteTableCoverage + 5 * g.pageSize, window: &window)
        let head = (vma.lowerBound + g.pteTableCoverage) >> UInt64(g.pageShift)
        #expect(huge.heldFolio - 1 == head)
        #expect(mm.pages.count(head) == 2 && mm.pages.count(head + 1) == 1, "one reference and one _pincount")
        walker.releasePages(small)
        walker.releasePages(huge)
        #expect(Self.referencesBeyondMappings(mm) == 0 && mm.pages.count(head + 1) == 0)
        try mm.tearDown(protection: none, cpu: 0)
    }

    /// Every folio mapped, by head frame, with the references its mappings hold (a PTE or a huge leaf: one).
    static func mappings(_ mm: AddressSpace) -> [UInt64: UInt32] {
        var folios: [UInt64: UInt32] = [:]
        func visit(_ t: TableIndex, _ level: Int) {
            for slot in 0..<mm.geometry.levels[level].entries {
                let e = mm.pool.load(t, slot)
                if e.isTable && level + 1 < mm.math.count { visit(e.tableIndex, level + 1) }
                else if e.isPresent && e.isLeaf { folios[mm.folioHead(e, level: level), default: 0] += 1 }
            }
        }
        visit(mm.root, 0)
        return folios
    }

    /// References held on mapped folios beyond their mappings' (0 when every walk's were dropped).
    static func referencesBeyondMappings(_ mm: AddressSpace) -> Int {
        mappings(mm).reduce(0) { $0 + Int(mm.pages.count($1.key)) - Int($1.value) }
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
