/// `lookup`: the open-coded gup_fast-like walk of one address.
///
/// Reads each level once with READ_ONCE, stops at the first leaf (pte, or a huge pmd/pud), and, like
/// gup_fast_pte_range, takes a reference on the page's folio (try_grab_folio_fast: fails on a count of
/// zero, a freed or frozen folio) and re-checks that neither the leaf nor the entry above it changed;
/// if one did, it drops the reference and reports a retry (gup_fast falls back to the slow path). The
/// reference is handed to the caller, which drops it after the window (`releasePages`), as a GUP
/// caller unpins a page once it has used it.
public struct LookupWalker: PageWalker {
    public static let name = "lookup"
    /// Bumped when what this walker measures changes meaning; `bench compare` never compares across revisions.
    /// 2: one try-get on the folio inside the window, the put after it (revision 1 did get + put inside).
    public static let revision = 2
    public static let summary = "open-coded gup_fast-like lookup of one address: each level once, try-get + re-check at the leaf"

    var core: Lookup

    public init(mm: AddressSpace, options: WalkOptions) { core = Lookup(mm: mm, options: options) }

    public var oracleCapacity: Int { LevelMath.maxLevels }

    @inline(__always)
    public mutating func walk<Win: WalkWindow>(at address: UInt64, window: inout Win) -> WalkResult {
        core.walk(at: address, window: &window, recheck: true)
    }

    @inline(__always) public mutating func releasePages(_ result: WalkResult) { core.release(result) }
}

/// The lookup's body, shared with `lookup-no-recheck`, which differs only by the re-check.
struct Lookup {
    let memory: TableMemory
    let pages: PageWords
    let root: TableIndex
    let math: LevelMath
    let pageShift: UInt64
    let lastLevel: Int
    let takeReference: Bool
    let pin: Bool

    init(mm: AddressSpace, options: WalkOptions) {
        memory = mm.pool.memory
        pages = mm.pages.words
        root = mm.root
        math = mm.math
        pageShift = UInt64(mm.geometry.pageShift)
        lastLevel = mm.math.count - 1
        takeReference = options.takeReference
        pin = options.pin
    }

    @inline(__always)
    func walk<Win: WalkWindow>(at address: UInt64, window: inout Win, recheck: Bool) -> WalkResult {
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
                window.leafRead()
                let small = level == lastLevel && e.folioOrder == 0
                let head = e.folioHead(isPTE: level == lastLevel)
                guard let held = pages.tryGet(head, refs: pin && small ? PageFrames.pinBias : 1) else {
                    return WalkResult(retries: 1)
                }
                if pin && !small { pages.addPins(head, 1) }
                // gup_fast's re-check: the leaf and the entry that led to its table are unchanged.
                if recheck && (memory.load(table, slot).raw != e.raw
                               || (level != 0 && memory.load(parent, parentSlot).raw != parentEntry.raw)) {
                    release(head: head, small: small)
                    return WalkResult(retries: 1)
                }
                if Win.oracleEnabled { window.tookPage(mapped: e.folioGeneration, held: held) }
                var r = WalkResult(leaves: 1, frameSum: frame)
                r.heldFolio = head &+ 1
                r.heldSmallFolio = small
                return r
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

    /// folio_put, or unpin_user_page for FOLL_PIN.
    @inline(__always)
    func release(head: UInt64, small: Bool) {
        if pin && !small { pages.removePins(head, 1) }
        pages.put(head, refs: pin && small ? PageFrames.pinBias : 1)
    }

    @inline(__always)
    func release(_ r: WalkResult) {
        if r.heldFolio != 0 { release(head: r.heldFolio &- 1, small: r.heldSmallFolio) }
    }
}
