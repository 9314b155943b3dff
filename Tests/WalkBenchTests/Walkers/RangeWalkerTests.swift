import Testing
@testable import WalkBench

/// `range` as gup_fast_pgd_range: a reference and a re-check per leaf, stopping at the first change.
@Suite struct RangeWalkerTests {
    /// A window that, when the walker is about to read its PTE table, clears the pmd that led there: a
    /// munmap racing the walk. The walk reads the table's ptes, but its re-check of the pmd must fail.
    struct PmdClearedUnderTheWalk: WalkWindow {
        let mm: AddressSpace
        let pmdTable: TableIndex
        let pmdSlot: Int
        var fired = false
        static var oracleEnabled: Bool { false }
        mutating func followed(_ table: TableIndex, linkedAt generation: UInt32) {}
        mutating func sawPoison() {}
        mutating func beforeLeafTable() {
            guard !fired else { return }
            fired = true
            mm.pool.storeRelaxed(pmdTable, pmdSlot, .empty)
        }
    }

    @Test func aChangedPmdStopsTheWalkAndCountsARetry() throws {
        let g = Geometry.x86_64_4level
        let (mm, _, vma) = try AddressSpaceTests.makeSpace(g, bytes: 2 * g.pteTableCoverage)
        var rng = SplitMix64(seed: 31)
        try mm.populate(vma, density: 1, hugeFraction: 0, rng: &rng)
        let pmdTable = try #require(try mm.table(at: g.hugeLevel, for: vma.lowerBound, create: false))
        let pmdSlot = mm.math.index(vma.lowerBound, level: g.hugeLevel)
        let pmdBefore = mm.pool.load(pmdTable, pmdSlot)
        let span = 2 * g.pteTableCoverage

        var quiet = RangeWalker(mm: mm, options: WalkOptions(span: span, takeReference: true))
        var off = OracleOffWindow()
        let whole = quiet.walk(at: vma.lowerBound, window: &off)
        #expect(whole.leaves == 1024 && whole.frameSum == Self.frames(vma, g) && whole.retries == 0)
        #expect(LookupWalkerTests.referencesBeyondMappings(mm) == 1024, "the walk holds a reference per page until released")
        quiet.releasePages(whole)
        #expect(LookupWalkerTests.referencesBeyondMappings(mm) == 0)

        var walker = RangeWalker(mm: mm, options: WalkOptions(span: span, takeReference: true))
        var racing = PmdClearedUnderTheWalk(mm: mm, pmdTable: pmdTable, pmdSlot: pmdSlot)
        let r = walker.walk(at: vma.lowerBound, window: &racing)
        #expect(r.retries == 1 && r.leaves == 0, "the first pte's re-check sees the cleared pmd: \(r)")
        walker.releasePages(r)
        #expect(LookupWalkerTests.referencesBeyondMappings(mm) == 0, "the reference was dropped")

        // Without references (--no-take-ref) there is no re-check: the walk reads on through the
        // table it already holds, then the rest of the span.
        var reader = RangeWalker(mm: mm, options: WalkOptions(span: span, takeReference: false))
        mm.pool.storeRelease(pmdTable, pmdSlot, pmdBefore)
        var racingAgain = PmdClearedUnderTheWalk(mm: mm, pmdTable: pmdTable, pmdSlot: pmdSlot)
        #expect(reader.walk(at: vma.lowerBound, window: &racingAgain) == WalkResult(leaves: 1024, frameSum: Self.frames(vma, g)))
    }

    static func frames(_ vma: Range<UInt64>, _ g: Geometry) -> UInt64 {
        stride(from: vma.lowerBound, to: vma.upperBound, by: Int(g.pageSize)).reduce(0) { $0 &+ ($1 >> UInt64(g.pageShift)) }
    }
}

/// Nothing logged, nothing injected.
struct OracleOffWindow: WalkWindow {
    static var oracleEnabled: Bool { false }
    mutating func followed(_ table: TableIndex, linkedAt generation: UInt32) {}
    mutating func sawPoison() {}
    mutating func beforeLeafTable() {}
}
