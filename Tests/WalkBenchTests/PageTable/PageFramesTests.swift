import Testing
@testable import WalkBench

@Suite struct PageFramesTests {
    @Test func aFreeOrFrozenPageCannotBeTakenAndTheLastPutFreesIt() throws {
        let pages = try PageFrames(frameBits: 36)
        let frame: UInt64 = 0x2_0000_0123
        #expect(pages.tryGet(frame, refs: 1) == nil, "never mapped")
        #expect(pages.map(frame, refs: 1) == 0)
        #expect(pages.tryGet(frame, refs: 1) == 0)
        #expect(!pages.freeze(frame, expected: 1), "a GUP reference beyond the mapping's")
        pages.put(frame, refs: 1)
        #expect(pages.freeze(frame, expected: 1))
        #expect(pages.tryGet(frame, refs: 1) == nil, "frozen")
        pages.freeFrozen(frame)
        #expect(pages.generation(frame) == 1 && pages.count(frame) == 0)
        // Mapped again: a new generation; the last put frees it and moves the generation on.
        #expect(pages.map(frame, refs: 1) == 1)
        #expect(pages.tryGet(frame, refs: 3) == 1)
        pages.put(frame, refs: 1)  // the mapping goes; the walker's three remain
        #expect(pages.count(frame) == 3 && pages.generation(frame) == 1)
        pages.put(frame, refs: 3)
        #expect(pages.count(frame) == 0 && pages.generation(frame) == 2)
    }

    @Test func framesInDifferentSectionsDoNotShareWords() throws {
        let pages = try PageFrames(frameBits: 36)
        let a: UInt64 = 5, b = a + (1 << PageFrames.sectionShift)
        _ = pages.map(a, refs: 2)
        _ = pages.map(b, refs: 7)
        #expect(pages.count(a) == 2 && pages.count(b) == 7)
    }

    /// khugepaged's refcount rule: a page a walker holds a reference on is not collapsed; the table
    /// is put back unchanged, and the collapse goes through once the reference is dropped.
    @Test func aCollapseIsRefusedWhileAWalkerHoldsAPage() throws {
        let g = Geometry.x86_64_4level
        let (mm, none, vma) = try AddressSpaceTests.makeSpace(g, bytes: g.pteTableCoverage)
        var rng = SplitMix64(seed: 9)
        try mm.populate(vma, density: 1, hugeFraction: 0, rng: &rng)
        var walker = LookupWalker(mm: mm, options: WalkOptions())
        var window = OracleOffWindow()
        let held = walker.walk(at: vma.lowerBound + 7 * g.pageSize, window: &window)
        #expect(held.heldFolio != 0)
        let pmdTable = try #require(try mm.table(at: g.hugeLevel, for: vma.lowerBound, create: false))
        let before = mm.pool.load(pmdTable, mm.math.index(vma.lowerBound, level: g.hugeLevel))
        let refused = try mm.lock.withWriteLock { try !mm.collapse(at: vma.lowerBound, protection: none, cpu: 0) }
        #expect(refused)
        #expect(mm.collapsesRefused == 1)
        #expect(mm.pool.load(pmdTable, mm.math.index(vma.lowerBound, level: g.hugeLevel)) == before, "the same table is back")
        #expect(LookupWalkerTests.referencesBeyondMappings(mm) == 1, "nothing thawed wrong: only the walker's reference is extra")
        walker.releasePages(held)
        let collapsed = try mm.lock.withWriteLock { try mm.collapse(at: vma.lowerBound, protection: none, cpu: 0) }
        #expect(collapsed)
        // Every small page was freed (generation 1); the huge folio's head is mapped again.
        let first = vma.lowerBound >> UInt64(g.pageShift)
        #expect(mm.pages.generation(first + 7) == 1 && mm.pages.count(first + 7) == 0)
        #expect(mm.pages.count(first) == 1 && mm.pages.generation(first) == 1)
        try mm.tearDown(protection: none, cpu: 0)
    }

    /// mTHP: PTE-mapped large folios count on their head, one reference per pte mapping a page of
    /// them; a collapse freezes each at the count of its ptes in the table.
    @Test func mTHPFoliosCountOnTheirHead() throws {
        let g = Geometry.x86_64_4level
        let (mm, none, vma) = try AddressSpaceTests.makeSpace(g, bytes: g.pteTableCoverage)
        mm.pteFolioOrder = 4
        var rng = SplitMix64(seed: 11)
        try mm.populate(vma, density: 1, hugeFraction: 0, rng: &rng)
        let first = vma.lowerBound >> UInt64(g.pageShift)
        #expect(mm.pages.count(first + 16) == 16 && mm.pages.count(first + 17) == 0)
        var walker = LookupWalker(mm: mm, options: WalkOptions())
        var window = OracleOffWindow()
        let r = walker.walk(at: vma.lowerBound + 21 * g.pageSize, window: &window)
        #expect(r.heldFolio - 1 == first + 16 && mm.pages.count(first + 16) == 17)
        walker.releasePages(r)
        let collapsed = try mm.lock.withWriteLock { try mm.collapse(at: vma.lowerBound, protection: none, cpu: 0) }
        #expect(collapsed)
        #expect(mm.pages.generation(first + 16) == 1 && mm.pages.count(first + 16) == 0, "frozen at 16 and freed")
        try mm.tearDown(protection: none, cpu: 0)
    }

    /// A split keeps the folio: each PTE holds a reference on it; unmapping them all frees it once.
    @Test func aSplitFolioIsFreedWhenItsLastPTEGoes() throws {
        let g = Geometry.x86_64_4level
        let (mm, none, vma) = try AddressSpaceTests.makeSpace(g, bytes: g.pteTableCoverage)
        var rng = SplitMix64(seed: 10)
        try mm.populate(vma, density: 1, hugeFraction: 1, rng: &rng)
        let head = vma.lowerBound >> UInt64(g.pageShift)
        let split = try mm.lock.withWriteLock { try mm.split(at: vma.lowerBound, protection: none, cpu: 0) }
        #expect(split)
        #expect(mm.pages.count(head) == 512)
        var walker = LookupWalker(mm: mm, options: WalkOptions())
        var window = OracleOffWindow()
        let r = walker.walk(at: vma.lowerBound + 300 * g.pageSize, window: &window)
        #expect(r.heldFolio - 1 == head, "a PTE of the split folio is counted on the folio's head")
        walker.releasePages(r)
        try mm.lock.withWriteLock { _ = try mm.unmap(vma.lowerBound..<(vma.lowerBound + 511 * g.pageSize), protection: none, cpu: 0) }
        #expect(mm.pages.count(head) == 1 && mm.pages.generation(head) == 0)
        try mm.lock.withWriteLock { _ = try mm.unmap(vma, protection: none, cpu: 0) }
        #expect(mm.pages.count(head) == 0 && mm.pages.generation(head) == 1)
        try mm.tearDown(protection: none, cpu: 0)
    }
}
