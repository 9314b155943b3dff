/// `iterator-inline`: page_vma_mapped_walk's shape, idealised. The walk's state lives in a cursor (the
/// table reached and the address); the caller loops on `next()`, which yields one present leaf at a
/// time; stopping goes through `done()`. The cursor steps through a PTE table entry by entry and, when
/// it leaves one (or meets a huge leaf or a hole above), restarts from the top for the next address.
/// Unlike the kernel's, `next()` is inlined into the caller's loop and takes no lock: the iterator at
/// its cheapest. `iterator` is the kernel's shape. (Rows named `iterator` before walker revision 2
/// measured this walker.)
public struct InlineIteratorWalker: PageWalker {
    public static let name = "iterator-inline"
    /// Bumped when what this walker measures changes meaning; `bench compare` never compares across revisions.
    public static let revision = 1
    public static let summary = "page_vma_mapped_walk-like cursor, idealised: next() inlined into the caller's loop, no PTE lock"

    private let layout: PageCursor.Layout
    private let span: UInt64
    public let oracleCapacity: Int

    public init(mm: AddressSpace, options: WalkOptions) {
        layout = PageCursor.Layout(memory: mm.pool.memory, root: mm.root, math: mm.math, pageShift: UInt64(mm.geometry.pageShift))
        span = options.span
        oracleCapacity = Self.oracleCapacity(mm: mm, span: options.span)
    }

    @inline(__always)
    public mutating func walk<Win: WalkWindow>(at address: UInt64, window: inout Win) -> WalkResult {
        var result = WalkResult()
        var cursor = PageCursor(layout, from: address, to: address &+ span)
        while let leaf = cursor.next(window: &window) {
            result.addLeaf(leaf.entry, entryStart: leaf.entryStart, from: leaf.from, to: leaf.to, pageShift: layout.pageShift)
        }
        cursor.done()
        return result
    }
}

/// The iterator's state (struct page_vma_mapped_walk): where it is and which PTE table it holds.
public struct PageCursor {
    public struct Layout {
        let memory: TableMemory
        let root: TableIndex
        let math: LevelMath
        let pageShift: UInt64
    }

    /// One present leaf, clipped to the walked range.
    public struct Leaf {
        public let entry: Entry
        public let entryStart: UInt64
        public let from: UInt64
        public let to: UInt64
    }

    private let layout: Layout
    private var address: UInt64
    private let end: UInt64
    /// The PTE table the cursor is stepping through, and where its reach ends.
    private var pteTable: TableIndex?
    private var pteTableEnd: UInt64 = 0

    public init(_ layout: Layout, from start: UInt64, to end: UInt64) {
        self.layout = layout
        address = start
        self.end = end
    }

    @inline(__always)
    public mutating func next<Win: WalkWindow>(window: inout Win) -> Leaf? {
        let math = layout.math
        let last = math.count &- 1
        let page: UInt64 = 1 &<< layout.pageShift
        while address < end {
            if let pte = pteTable, address < pteTableEnd {
                let e = layout.memory.load(pte, math.index(address, level: last))
                let a = address
                address &+= page
                // A table entry where only ptes can be: the table was freed and reused higher up.
                if e.isTable {
                    if Win.oracleEnabled { window.sawPoison() }
                    continue
                }
                if e.isPresent { return Leaf(entry: e, entryStart: a, from: a, to: a &+ page) }
                if Win.oracleEnabled && e.isPoison { window.sawPoison() }
                continue
            }
            // Restart from the top for the current address (page_vma_mapped_walk's `restart`).
            pteTable = nil
            var t = layout.root
            var level = 0
            while true {
                let coverage: UInt64 = 1 &<< math.shifts[level]
                let entryStart = address & ~(coverage &- 1)
                let entryEnd = min(entryStart &+ coverage, end)
                let e = layout.memory.load(t, math.index(address, level: level))
                if e.isTable {
                    let child = e.tableIndex
                    if Win.oracleEnabled { window.followed(child, linkedAt: e.generation) }
                    if level &+ 2 == math.count {
                        window.beforeLeafTable()
                        pteTable = child
                        pteTableEnd = entryEnd
                        break
                    }
                    t = child
                    level &+= 1
                    continue
                }
                let from = address
                address = entryEnd  // step_forward over the leaf or the hole
                if e.isPresent { return Leaf(entry: e, entryStart: entryStart, from: from, to: entryEnd) }
                if Win.oracleEnabled && e.isPoison { window.sawPoison() }
                break
            }
        }
        return nil
    }

    /// page_vma_mapped_walk_done: drop what the cursor holds (its PTE table) so it cannot be used again.
    public mutating func done() {
        pteTable = nil
        address = end
    }
}
