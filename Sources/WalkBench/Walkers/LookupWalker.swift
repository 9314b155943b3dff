/// `lookup`: the open-coded gup_fast-like walk of one address.
///
/// Reads each level once with READ_ONCE, stops at the first leaf (pte, or a huge pmd/pud), and, like
/// gup_fast_pte_range, takes a reference on the page and re-checks that neither the leaf nor the entry
/// above it changed; if one did, it drops the reference and reports a retry (gup_fast falls back to the
/// slow path). All of it inside the caller's window.
public struct LookupWalker: PageWalker {
    public static let name = "lookup"
    /// Bumped when what this walker measures changes meaning; `bench compare` never compares across revisions.
    public static let revision = 1
    public static let summary = "open-coded gup_fast-like lookup of one address: each level once, ref + re-check at the leaf"

    private let memory: TableMemory
    private let refs: PageRefs
    private let root: TableIndex
    private let math: LevelMath
    private let pageShift: UInt64
    private let takeReference: Bool

    public init(mm: AddressSpace, options: WalkOptions) {
        memory = mm.pool.memory
        refs = mm.pageRefs
        root = mm.root
        math = mm.math
        pageShift = UInt64(mm.geometry.pageShift)
        takeReference = options.takeReference
    }

    public var oracleCapacity: Int { LevelMath.maxLevels }

    @inline(__always)
    public mutating func walk<Win: WalkWindow>(at address: UInt64, window: inout Win) -> WalkResult {
        var table = root
        var parent = root
        var parentSlot = 0
        var parentEntry = Entry.empty
        var level = 0
        while true {
            let slot = math.index(address, level: level)
            let e = memory.load(table, slot)
            if !e.isPresent {
                if Win.oracleEnabled && e.isPoison { window.sawPoison() }
                return .absent
            }
            if e.isLeaf {
                // A huge leaf maps consecutive frames: add the page's offset inside it.
                let offset = (address &>> pageShift) & ((1 &<< (math.shifts[level] &- pageShift)) &- 1)
                let frame = e.frame &+ offset
                guard takeReference else { return WalkResult(leaves: 1, frameSum: frame) }
                refs.get(frame)
                // gup_fast's re-check: the leaf and the entry that led to its table are unchanged.
                let stillSame = memory.load(table, slot).raw == e.raw
                    && (level == 0 || memory.load(parent, parentSlot).raw == parentEntry.raw)
                refs.put(frame)
                return stillSame ? WalkResult(leaves: 1, frameSum: frame) : WalkResult(retries: 1)
            }
            // A table entry where only leaves can be: this table was freed and reused at another level.
            // Following it would walk past the last level; it is a use-after-free, so say so and stop.
            if level &+ 1 == math.count {
                if Win.oracleEnabled { window.sawPoison() }
                return .absent
            }
            let child = e.tableIndex
            if Win.oracleEnabled { window.followed(child, linkedAt: e.generation) }
            if level &+ 2 == math.count { window.beforeLeafTable() }
            parent = table
            parentSlot = slot
            parentEntry = e
            table = child
            level &+= 1
        }
    }
}
