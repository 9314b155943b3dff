import Testing
@testable import WalkBench

@Suite struct EntryTests {
    @Test func tableEntryRoundTrips() {
        let e = Entry.table(TableIndex(123_456), generation: 77)
        #expect(e.isPresent && e.isTable && !e.isLeaf)
        #expect(e.tableIndex == TableIndex(123_456))
        #expect(e.generation == 77)
    }

    @Test func generationIsTruncatedTo16Bits() {
        let g: UInt32 = (1 << 16) + 5
        let e = Entry.table(TableIndex(1), generation: g)
        #expect(e.generation == 5)
        #expect(Entry.truncate(generation: g) == 5)
        #expect(e.tableIndex == TableIndex(1))
    }

    @Test func leafRoundTrips() {
        let frame: UInt64 = (1 << 46) - 1
        let e = Entry.leaf(frame: frame)
        #expect(e.isPresent && e.isLeaf && !e.isTable)
        #expect(e.frame == frame)
    }

    @Test func poisonIsNotPresentAndRecognised() {
        #expect(!Entry.poison.isPresent)
        #expect(Entry.poison.isPoison)
        #expect(!Entry.empty.isPoison && !Entry.empty.isPresent)
        #expect(!Entry.leaf(frame: 3).isPoison)
    }
}
