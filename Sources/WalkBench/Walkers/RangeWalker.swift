/// `range`: the open-coded walk of a whole span, gup_fast_pgd_range's nest of loops: at each level,
/// step from entry to entry with pXd_addr_end, descend into tables, take leaves (huge or not) as they
/// come, skip holes. No hooks: the work is written into the loop.
public struct RangeWalker: PageWalker {
    public static let name = "range"
    /// Bumped when what this walker measures changes meaning; `bench compare` never compares across revisions.
    public static let revision = 1
    public static let summary = "open-coded walk of the whole span (gup_fast_pgd_range's nested loops): count leaves, sum frames"

    private let memory: TableMemory
    private let root: TableIndex
    private let math: LevelMath
    private let pageShift: UInt64
    private let span: UInt64
    public let oracleCapacity: Int

    public init(mm: AddressSpace, options: WalkOptions) {
        memory = mm.pool.memory
        root = mm.root
        math = mm.math
        pageShift = UInt64(mm.geometry.pageShift)
        span = options.span
        oracleCapacity = Self.oracleCapacity(mm: mm, span: options.span)
    }

    @inline(__always)
    public mutating func walk<Win: WalkWindow>(at address: UInt64, window: inout Win) -> WalkResult {
        var result = WalkResult()
        walkTable(root, level: 0, address, address &+ span, window: &window, result: &result)
        return result
    }

    private func walkTable<Win: WalkWindow>(_ t: TableIndex, level: Int, _ start: UInt64, _ end: UInt64,
                                            window: inout Win, result: inout WalkResult) {
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
                walkTable(child, level: level &+ 1, addr, next, window: &window, result: &result)
            } else if e.isPresent {
                result.addLeaf(e, entryStart: entryStart, from: addr, to: next, pageShift: pageShift)
            } else if Win.oracleEnabled && e.isPoison {
                window.sawPoison()
            }
            addr = next
            slot &+= 1
        } while addr < end
    }
}
