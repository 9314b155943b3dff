/// The work every range walker does with a leaf: count the pages it maps inside the walked range and add
/// their frame numbers. A huge leaf counts every page of it that lies in the range (GUP returns pages),
/// summed arithmetically, so walkers agree on any table and a huge leaf costs O(1).
extension WalkResult {
    /// Adds the leaf `entry`, which maps from `entryStart`, clipped to [from, to).
    @inline(__always)
    mutating func addLeaf(_ entry: Entry, entryStart: UInt64, from: UInt64, to: UInt64, pageShift: UInt64) {
        let first = entry.frame &+ ((from &- entryStart) &>> pageShift)
        let pages = (to &- from) &>> pageShift
        leaves &+= Int(truncatingIfNeeded: pages)
        // first + (first+1) + ... + (first+pages-1)
        frameSum &+= pages &* first &+ (pages &* (pages &- 1)) / 2
    }
}

extension PageWalker {
    /// Oracle records one walk of `span` may need: every table a span can touch, at every level.
    static func oracleCapacity(mm: AddressSpace, span: UInt64) -> Int {
        AddressSpace.tablesNeeded(geometry: mm.geometry, bytes: span) + LevelMath.maxLevels
    }
}
