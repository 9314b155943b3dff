/// `range`: the open-coded walk of a whole span, gup_fast_pgd_range's nest of loops: at each level,
/// step from entry to entry with pXd_addr_end, descend into tables, take leaves (huge or not) as they
/// come, skip holes. No hooks: the work is written into the loop. Like gup_fast_pte_range and
/// gup_fast_pmd_leaf, each leaf is taken with a try-get on its folio (a PTE: one reference; a huge
/// leaf: one per page of it in the range, in one RMW on the folio's count) and a re-check that
/// neither the leaf nor the entry above it changed; on a failed try-get or a change the walk stops
/// there (gup_fast leaves the rest to the slow path). The references go to the caller, which drops
/// them after the window (`releasePages`), as GUP's caller unpins its pages. `--no-take-ref` walks
/// without either.
public struct RangeWalker: PageWalker {
    public static let name = "range"
    /// Bumped when what this walker measures changes meaning; `bench compare` never compares across revisions.
    /// 2: a reference and a re-check per leaf, as gup_fast (revision 1 only read the leaves).
    /// 3: try-get on the folio, references kept until after the window (revision 2: get + put inside).
    public static let revision = 3
    public static let summary = "open-coded walk of the whole span (gup_fast_pgd_range's nested loops): try-get + re-check per leaf, count leaves, sum frames"

    private let memory: TableMemory
    private let pages: PageWords
    private let pin: Bool
    private let lastLevel: Int
    /// The folios the current walk holds references on, and how many pages' worth each.
    private let heldList: HeldPageList
    private let heldHeads: UnsafeMutablePointer<UInt64>
    private let heldRefs: UnsafeMutablePointer<UInt32>
    private var heldCount = 0
    private let takeReference: Bool
    private let root: TableIndex
    private let math: LevelMath
    private let pageShift: UInt64
    private let span: UInt64
    public let oracleCapacity: Int

    public init(mm: AddressSpace, options: WalkOptions) {
        memory = mm.pool.memory
        pages = mm.pages.words
        pin = options.pin
        lastLevel = mm.math.count - 1
        heldList = HeldPageList(capacity: Int(options.span >> UInt64(mm.geometry.pageShift)) + 2)
        heldHeads = heldList.heads
        heldRefs = heldList.refs
        takeReference = options.takeReference
        root = mm.root
        math = mm.math
        pageShift = UInt64(mm.geometry.pageShift)
        span = options.span
        oracleCapacity = Self.oracleCapacity(mm: mm, span: options.span)
    }

    @inline(__always)
    public mutating func walk<Win: WalkWindow>(at address: UInt64, window: inout Win) -> WalkResult {
        var result = WalkResult()
        var held = 0
        _ = walkTable(root, level: 0, address, address &+ span, above: nil, window: &window, result: &result, held: &held)
        heldCount = held
        return result
    }

    @inline(__always)
    public mutating func releasePages(_ result: WalkResult) {
        for i in 0..<heldCount { release(head: heldHeads[i], count: heldRefs[i]) }
        heldCount = 0
    }

    /// `count`: pages held, with `smallFlag` set for a small folio (FOLL_PIN's bias applies to it).
    @inline(__always)
    private func release(head: UInt64, count n: UInt32) {
        let small = n & Self.smallFlag != 0
        let count = n & ~Self.smallFlag
        if pin && !small { pages.removePins(head, count) }
        pages.put(head, refs: pin && small ? PageFrames.pinBias : count)
    }

    private static let smallFlag: UInt32 = 1 << 31

    /// Walks [start, end) of table `t`; `above` is the entry that led to `t` and where it sits, for the
    /// re-check. Returns false when a re-check failed and the walk stops.
    private func walkTable<Win: WalkWindow>(_ t: TableIndex, level: Int, _ start: UInt64, _ end: UInt64,
                                            above: (table: TableIndex, slot: Int, entry: Entry)?,
                                            window: inout Win, result: inout WalkResult, held: inout Int) -> Bool {
        let coverage: UInt64 = 1 &<< math.shifts[level]
        var addr = start
        var slot = math.index(addr, level: level)
        repeat {
            let entryStart = addr & ~(coverage &- 1)
            let next = min(entryStart &+ coverage, end)  // pXd_addr_end
            let e = memory.load(t, slot)
            if e.isTable && level &+ 1 == math.count {
                // A table entry at the last level: the table was freed and reused higher up. Taint, skip.
                if Win.oracleEnabled { window.sawPoison() }
            } else if e.isTable {
                let child = e.tableIndex
                if Win.oracleEnabled { window.followed(child, linkedAt: e.generation) }
                if level &+ 2 == math.count { window.beforeLeafTable() }
                guard walkTable(child, level: level &+ 1, addr, next, above: (t, slot, e), window: &window,
                                result: &result, held: &held) else { return false }
            } else if e.isPresent {
                if takeReference {
                    // try_grab_folio_fast on the folio, then the re-check: this leaf, and for a pte the pmd above it.
                    let isPTE = level == lastLevel
                    let small = isPTE && e.folioOrder == 0
                    let head = e.folioHead(isPTE: isPTE)
                    let n = isPTE ? 1 : UInt32(truncatingIfNeeded: (next &- addr) &>> pageShift)
                    guard let got = pages.tryGet(head, refs: pin && small ? PageFrames.pinBias : n) else {
                        result.retries &+= 1
                        return false
                    }
                    if pin && !small { pages.addPins(head, n) }
                    let same = memory.load(t, slot).raw == e.raw
                        && (!isPTE || above.map { memory.load($0.table, $0.slot).raw == $0.entry.raw } ?? true)
                    guard same else {
                        release(head: head, count: small ? 1 | Self.smallFlag : n)
                        result.retries &+= 1
                        return false
                    }
                    if Win.oracleEnabled { window.tookPage(mapped: e.folioGeneration, held: got) }
                    heldHeads[held] = head
                    heldRefs[held] = small ? 1 | Self.smallFlag : n
                    held &+= 1
                }
                result.addLeaf(e, entryStart: entryStart, from: addr, to: next, pageShift: pageShift)
            } else if Win.oracleEnabled && e.isPoison {
                window.sawPoison()
            }
            addr = next
            slot &+= 1
        } while addr < end
        return true
    }
}

/// The range walker's list of held folios: owned here so the walker's buffers are freed with it.
final class HeldPageList: @unchecked Sendable {
    // @unchecked Sendable: used by the one walker thread that owns it.
    let heads: UnsafeMutablePointer<UInt64>
    let refs: UnsafeMutablePointer<UInt32>
    init(capacity: Int) {
        heads = .allocate(capacity: capacity)
        refs = .allocate(capacity: capacity)
    }
    deinit {
        heads.deallocate()
        refs.deallocate()
    }
}
