/// `iterator`: page_vma_mapped_walk as the kernel has it. The caller loops on one out-of-line step
/// function (the kernel's exported page_vma_mapped_walk: "calling that big complex function for every
/// iteration step"), which keeps its state in a struct (struct page_vma_mapped_walk) and yields one
/// present leaf at a time. Each step:
/// - with no PTE table held, walks down from the top to the pmd (check_pmd): a huge leaf is returned
///   as it is, a hole skipped; a table is mapped and locked (pte_offset_map_lock), and the pmd read
///   again: if it changed under the walker (!pmd_same), the lock is dropped and the step restarts;
/// - with a table held, reads the next pte (step_forward);
/// - leaving the table drops its lock (pte_unmap_unlock), as `done()` does (page_vma_mapped_walk_done).
/// The PTE lock makes it invalid with strategies whose walkers run with interrupts off (PTELockRule).
public struct IteratorWalker: PageWalker {
    public static let name = "iterator"
    /// Bumped when what this walker measures changes meaning; `bench compare` never compares across revisions.
    /// 2: the kernel's shape (out of line, PTE lock, !pmd_same restart); revision 1 is `iterator-inline`.
    public static let revision = 2
    public static let summary = "page_vma_mapped_walk as the kernel's: one out-of-line step per leaf, the PTE table mapped and locked, !pmd_same restart"
    public static let takesPTELock = true

    private let layout: MappedWalk.Layout
    private let span: UInt64
    public let oracleCapacity: Int

    public init(mm: AddressSpace, options: WalkOptions) {
        layout = MappedWalk.Layout(memory: mm.pool.memory, locks: mm.pool.pteLocks, root: mm.root, math: mm.math,
                                   pageShift: UInt64(mm.geometry.pageShift))
        span = options.span
        oracleCapacity = Self.oracleCapacity(mm: mm, span: options.span)
    }

    @inline(__always)
    public mutating func walk<Win: WalkWindow>(at address: UInt64, window: inout Win) -> WalkResult {
        var result = WalkResult()
        var pvmw = MappedWalk(layout, from: address, to: address &+ span)
        while let leaf = pvmw.step(window: &window) {
            result.addLeaf(leaf.entry, entryStart: leaf.entryStart, from: leaf.from, to: leaf.to, pageShift: layout.pageShift)
        }
        result.retries &+= pvmw.restarts
        pvmw.done()
        return result
    }
}

/// struct page_vma_mapped_walk: where the walk is, the PTE table it holds locked, and the pmd that led there.
public struct MappedWalk {
    public struct Layout {
        let memory: TableMemory
        let locks: PTELocks
        let root: TableIndex
        let math: LevelMath
        let pageShift: UInt64
        /// pte_index's shift and mask, as constants: indexing `math` by a variable level made every step
        /// copy its tables to the stack (about 40 instructions a step).
        let pteShift: UInt64
        let pteMask: UInt64

        init(memory: TableMemory, locks: PTELocks, root: TableIndex, math: LevelMath, pageShift: UInt64) {
            self.memory = memory
            self.locks = locks
            self.root = root
            self.math = math
            self.pageShift = pageShift
            pteShift = math.shifts[math.count - 1]
            pteMask = math.masks[math.count - 1]
        }
    }

    /// One present leaf, clipped to the walked range (the same as the idealised cursor's).
    public typealias Leaf = PageCursor.Leaf

    private let layout: Layout
    private var address: UInt64
    private let end: UInt64
    /// The PTE table held (mapped and locked), where its reach ends, and the pmd entry read before locking.
    private var pte: TableIndex?
    private var pteEnd: UInt64 = 0
    /// Steps that found the pmd changed after taking the lock and started over (!pmd_same).
    public private(set) var restarts = 0

    public init(_ layout: Layout, from start: UInt64, to end: UInt64) {
        self.layout = layout
        address = start
        self.end = end
    }

    /// page_vma_mapped_walk: the next present leaf, or nil when the range is done (nothing held then).
    @inline(never)
    public mutating func step<Win: WalkWindow>(window: inout Win) -> Leaf? {
        let page: UInt64 = 1 &<< layout.pageShift
        while address < end {
            if let t = pte {
                if address < pteEnd {
                    let e = layout.memory.load(t, Int(truncatingIfNeeded: (address &>> layout.pteShift) & layout.pteMask))
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
                layout.locks.unlock(t)  // pte_unmap_unlock on leaving the table
                pte = nil
            }
            // check_pmd: from the top down to the entry for `address`.
            let math = layout.math
            var t = layout.root
            var level = 0
            while true {
                let coverage: UInt64 = 1 &<< math.shifts[level]
                let entryStart = address & ~(coverage &- 1)
                let entryEnd = min(entryStart &+ coverage, end)
                let slot = math.index(address, level: level)
                let e = layout.memory.load(t, slot)
                if e.isTable && level &+ 1 == math.count {
                    if Win.oracleEnabled { window.sawPoison() }
                    address = entryEnd
                    break
                }
                if e.isTable {
                    let child = e.tableIndex
                    if Win.oracleEnabled { window.followed(child, linkedAt: e.generation) }
                    if level &+ 2 == math.count {
                        window.beforeLeafTable()
                        layout.locks.lock(child)  // pte_offset_map_lock
                        if layout.memory.load(t, slot).raw != e.raw {
                            // !pmd_same: the pmd changed while we took the lock; drop it and look again.
                            layout.locks.unlock(child)
                            restarts &+= 1
                            break
                        }
                        pte = child
                        pteEnd = entryEnd
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
        done()
        return nil
    }

    /// page_vma_mapped_walk_done: drop the PTE table's lock, if one is held, and end the walk.
    public mutating func done() {
        if let t = pte { layout.locks.unlock(t) }
        pte = nil
        address = end
    }
}
