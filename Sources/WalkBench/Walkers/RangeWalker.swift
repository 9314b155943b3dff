/// `range`: the open-coded walk of a whole span, gup_fast_pgd_range's nest of loops: at each level,
/// step from entry to entry with pXd_addr_end, descend into tables, take leaves (huge or not) as they
/// come, skip holes. No hooks: the work is written into the loop. Like gup_fast_pte_range and
/// gup_fast_pmd_leaf, each leaf is taken with a reference on its page (a huge leaf's head page: one
/// count per folio) and a re-check that neither the leaf nor the entry above it changed; on a change
/// the reference is dropped and the walk stops there (gup_fast leaves the rest to the slow path). As
/// `lookup` does, the reference is dropped again at once (get + put), so counts stay bounded;
/// `--no-take-ref` walks without either.
public struct RangeWalker: PageWalker {
    public static let name = "range"
    /// Bumped when what this walker measures changes meaning; `bench compare` never compares across revisions.
    /// 2: a reference and a re-check per leaf, as gup_fast (revision 1 only read the leaves).
    public static let revision = 2
    public static let summary = "open-coded walk of the whole span (gup_fast_pgd_range's nested loops): ref + re-check per leaf, count leaves, sum frames"

    private let memory: TableMemory
    private let refs: PageRefs
    private let takeReference: Bool
    private let root: TableIndex
    private let math: LevelMath
    private let pageShift: UInt64
    private let span: UInt64
    public let oracleCapacity: Int

    public init(mm: AddressSpace, options: WalkOptions) {
        memory = mm.pool.memory
        refs = mm.pageRefs
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
        _ = walkTable(root, level: 0, address, address &+ span, above: nil, window: &window, result: &result)
        return result
    }

    /// Walks [start, end) of table `t`; `above` is the entry that led to `t` and where it sits, for the
    /// re-check. Returns false when a re-check failed and the walk stops.
    private func walkTable<Win: WalkWindow>(_ t: TableIndex, level: Int, _ start: UInt64, _ end: UInt64,
                                            above: (table: TableIndex, slot: Int, entry: Entry)?,
                                            window: inout Win, result: inout WalkResult) -> Bool {
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
                                result: &result) else { return false }
            } else if e.isPresent {
                if takeReference {
                    // try_grab_folio, then the re-check: this leaf, and for a pte the pmd above it.
                    refs.get(e.frame)
                    let same = memory.load(t, slot).raw == e.raw
                        && (level &+ 1 != math.count || above.map { memory.load($0.table, $0.slot).raw == $0.entry.raw } ?? true)
                    refs.put(e.frame)
                    guard same else {
                        result.retries &+= 1
                        return false
                    }
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
