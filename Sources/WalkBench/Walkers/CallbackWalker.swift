/// `callback`: walk_page_range's shape. The walker owns the loops; the work lives in an ops table of
/// per-level hooks (pgd/p4d/pud/pmd/pte_entry, pte_hole), and each entry hook returns what to do next
/// (enum page_walk_action): descend into the entry's table, skip past it, or read it again. Which hooks
/// the table sets is the ops set (`CallbackOpsSet`, part of the walker's name); how a hook is called is
/// the `dispatch` this walker is measured by (direct, existential, closure here; the C kinds are in
/// CWalkerDispatch.swift).
public struct CallbackWalker<Hooks: WalkHooks, Ops: CallbackOpsSet>: PageWalker {
    public static var name: String { Ops.walkerName }
    /// Bumped when what this walker measures changes meaning; `bench compare` never compares across revisions.
    public static var revision: Int { Hooks.revision }
    public static var summary: String { Ops.summary }
    public static var dispatch: String { Hooks.dispatch }
    public static var takesPTELock: Bool { Ops.takesPTELock }

    private let memory: TableMemory
    private let root: TableIndex
    private let math: LevelMath
    private let pageShift: UInt64
    private let span: UInt64
    private let pteLocks: PTELocks
    /// Which kernel hook each level calls: levels are named from the bottom (pte, pmd, pud, p4d, pgd).
    private let hookOfLevel: InlineArray<5, WalkLevel>
    private var hooks: Hooks
    public let oracleCapacity: Int

    public init(mm: AddressSpace, options: WalkOptions) {
        memory = mm.pool.memory
        root = mm.root
        math = mm.math
        pageShift = UInt64(mm.geometry.pageShift)
        span = options.span
        pteLocks = mm.pool.pteLocks
        var levels = InlineArray<5, WalkLevel>(repeating: .pte)
        let named: [WalkLevel] = [.pgd, .p4d, .pud, .pmd, .pte]
        for i in 0..<mm.math.count { levels[i] = named[5 - mm.math.count + i] }
        hookOfLevel = levels
        hooks = Hooks(CountingOps(mm: mm))
        oracleCapacity = Self.oracleCapacity(mm: mm, span: options.span)
    }

    @inline(__always)
    public mutating func walk<Win: WalkWindow>(at address: UInt64, window: inout Win) -> WalkResult {
        hooks.reset()
        walkTable(root, level: 0, address, address &+ span, window: &window)
        return hooks.result
    }

    private mutating func walkTable<Win: WalkWindow>(_ t: TableIndex, level: Int, _ start: UInt64, _ end: UInt64,
                                                     window: inout Win) {
        let coverage: UInt64 = 1 &<< math.shifts[level]
        let kind = hookOfLevel[level]
        // Which levels call a hook for every entry: all (every-entry), pmd (pmd-entry), pte (pte-entry).
        let hooked = Ops.set == .everyEntry || (Ops.set == .pmdEntry ? kind == .pmd : kind == .pte)
        let locked = Ops.set == .pteEntry && kind == .pte
        if locked { pteLocks.lock(t) }  // walk_pte_range's pte_offset_map_lock
        defer { if locked { pteLocks.unlock(t) } }
        var addr = start
        var slot = math.index(addr, level: level)
        repeat {
            let next = min((addr & ~(coverage &- 1)) &+ coverage, end)
            var e = memory.load(t, slot)
            var again = 0
            while true {
                if !hooked {
                    // No hook here: descend a table, hand a huge leaf to its level's hook, skip a hole.
                    if e.isTable && kind != .pte {
                        let child = e.tableIndex
                        if Win.oracleEnabled { window.followed(child, linkedAt: e.generation) }
                        if level &+ 2 == math.count { window.beforeLeafTable() }
                        walkTable(child, level: level &+ 1, addr, next, window: &window)
                    } else if e.isPresent && !e.isTable {
                        _ = hooks.entry(kind, e.raw, addr, next)
                    } else if Win.oracleEnabled && (e.isPoison || e.isTable) {
                        window.sawPoison()
                    }
                    break
                }
                if Ops.set == .pmdEntry && kind == .pmd && e.isTable {
                    // The pmd_entry maps and reads the PTE table itself: log it first, as a descent would.
                    let child = e.tableIndex
                    if Win.oracleEnabled { window.followed(child, linkedAt: e.generation) }
                    if level &+ 2 == math.count { window.beforeLeafTable() }
                    _ = hooks.pmdRange(e.raw, addr, next)
                    break
                }
                if kind == .pte && e.isTable {
                    // A table entry where only ptes can be: the table was freed and reused higher up.
                    if Win.oracleEnabled { window.sawPoison() }
                    break
                }
                if !e.isPresent {
                    if Win.oracleEnabled && e.isPoison { window.sawPoison() }
                    // walk_pte_range calls pte_entry for every pte; above, a hole goes to pte_hole.
                    if kind == .pte { _ = hooks.entry(kind, e.raw, addr, next) } else { hooks.hole(addr, next, kind) }
                    break
                }
                let action = hooks.entry(kind, e.raw, addr, next)
                if action == .again && again < 3 {  // ACTION_AGAIN: re-read the entry (bounded)
                    again &+= 1
                    e = memory.load(t, slot)
                    continue
                }
                if action == .descend && e.isTable {  // ACTION_SUBTREE
                    let child = e.tableIndex
                    if Win.oracleEnabled { window.followed(child, linkedAt: e.generation) }
                    if level &+ 2 == math.count { window.beforeLeafTable() }
                    walkTable(child, level: level &+ 1, addr, next, window: &window)
                }
                break  // ACTION_CONTINUE
            }
            addr = next
            slot &+= 1
        } while addr < end
    }
}

/// The kernel's names for the levels, which pick the hook.
public enum WalkLevel: Int32, Sendable {
    case pgd = 0, p4d, pud, pmd, pte
}

/// enum page_walk_action.
public enum WalkAction: Int32, Sendable {
    case descend = 0  // ACTION_SUBTREE
    case skip = 1     // ACTION_CONTINUE
    case again = 2    // ACTION_AGAIN
}

/// The ops table as the walker sees it: an entry hook per level and a hole hook. A conformer decides
/// how the hooks are reached; `CountingOps` is the work itself.
public protocol WalkHooks {
    static var dispatch: String { get }
    /// The callback rows' `walker_rev` for this way of calling: bumped when the call changes meaning.
    static var revision: Int { get }
    /// Wraps the work in this conformer's way of calling it.
    init(_ ops: CountingOps)
    mutating func reset()
    var result: WalkResult { get }
    mutating func entry(_ level: WalkLevel, _ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction
    mutating func hole(_ addr: UInt64, _ next: UInt64, _ level: WalkLevel)
    /// The pmd-entry set's pmd_entry, which loops the PTE table's entries itself.
    mutating func pmdRange(_ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction
}

/// Which hooks an ops table sets: the kernel's walkers set only what they need.
public enum OpsSetKind: Sendable {
    /// Every level's entry hook (a hook call per entry at every level).
    case everyEntry
    /// pmd_entry alone, looping the PTEs inline under the PTE lock: smaps, pagemap, mincore.
    case pmdEntry
    /// pte_entry alone: walk_pte_range calls it per pte under the PTE lock it takes.
    case pteEntry
}

public protocol CallbackOpsSet: SendableMetatype {
    static var set: OpsSetKind { get }
    static var walkerName: String { get }
    static var summary: String { get }
    static var takesPTELock: Bool { get }
}

/// `callback`: every level's entry hook, as this walker has always measured (no PTE lock).
public enum EveryEntryOps: CallbackOpsSet {
    public static let set = OpsSetKind.everyEntry
    public static let walkerName = "callback"
    public static let summary = "walk_page_range-like, ops set every-entry: a hook per entry at every level, returning descend/skip/again"
    public static let takesPTELock = false
}

/// `callback-pmd-entry`: one hook call per PMD; the hook maps, locks and loops the PTE table.
public enum PMDEntryOps: CallbackOpsSet {
    public static let set = OpsSetKind.pmdEntry
    public static let walkerName = "callback-pmd-entry"
    public static let summary = "walk_page_range-like, ops set pmd-entry (smaps, pagemap): one hook per PMD looping its ptes under the PTE lock"
    public static let takesPTELock = true
}

/// `callback-pte-entry`: a hook per pte, the walker holding the PTE lock around each table's loop.
public enum PTEEntryOps: CallbackOpsSet {
    public static let set = OpsSetKind.pteEntry
    public static let walkerName = "callback-pte-entry"
    public static let summary = "walk_page_range-like, ops set pte-entry: a hook per pte, under the PTE lock walk_pte_range takes"
    public static let takesPTELock = true
}

extension WalkHooks {
    public static var revision: Int { 1 }
}

/// The work, as hooks: a table entry says descend; a leaf (huge or pte) adds its pages in [addr, next).
public struct CountingOps: Sendable {
    public var result = WalkResult()
    public let pageShift: UInt64
    /// Each kernel level's shift (PMD_SHIFT and friends) for this geometry, indexed by WalkLevel.
    private let shiftOfLevel: InlineArray<5, UInt64>

    /// The tables, for the pmd_entry that loops its PTEs itself.
    private let memory: TableMemory
    private let pteLocks: PTELocks
    private let pteShift: UInt64
    private let pteMask: UInt64

    public init(mm: AddressSpace) {
        let math = mm.math
        pageShift = UInt64(mm.geometry.pageShift)
        var shifts = InlineArray<5, UInt64>(repeating: pageShift)
        for i in 0..<math.count { shifts[5 - math.count + i] = math.shifts[i] }
        shiftOfLevel = shifts
        memory = mm.pool.memory
        pteLocks = mm.pool.pteLocks
        pteShift = math.shifts[math.count - 1]
        pteMask = math.masks[math.count - 1]
    }

    /// pmd_entry of the pmd-entry set (smaps_pte_range's shape): a huge leaf counts as any; a table is
    /// locked (pte_offset_map_lock), its ptes in [addr, next) counted in a loop, and unlocked.
    @inline(__always) public mutating func pmdRange(_ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction {
        let e = Entry(raw: raw)
        guard e.isTable else { return upperEntry(raw, addr, next, level: .pmd) }
        let t = e.tableIndex
        pteLocks.lock(t)
        var slot = Int(truncatingIfNeeded: (addr &>> pteShift) & pteMask)
        var a = addr
        let page: UInt64 = 1 &<< pageShift
        // Counted in a local and added once: the walk's state lives in memory (by pointer for the
        // existential and closure kinds), and updating it per pte chained every step through a store.
        var found = WalkResult()
        while a < next {
            let pte = memory.load(t, slot)
            if pte.isPresent && !pte.isTable { found.addLeaf(pte, entryStart: a, from: a, to: a &+ page, pageShift: pageShift) }
            a &+= page
            slot &+= 1
        }
        pteLocks.unlock(t)
        result.leaves &+= found.leaves
        result.frameSum &+= found.frameSum
        return .skip
    }

    @inline(__always) public mutating func reset() { result = WalkResult() }

    /// pgd/p4d/pud/pmd_entry.
    @inline(__always) public mutating func upperEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64, level: WalkLevel) -> WalkAction {
        let e = Entry(raw: raw)
        if e.isTable { return .descend }
        if e.isPresent {
            // A huge leaf: the pages from addr to next, the first at addr's offset in the leaf (pmd_pfn + ...).
            let entryStart = addr & ~((1 &<< shiftOfLevel[Int(level.rawValue)]) &- 1)
            result.addLeaf(e, entryStart: entryStart, from: addr, to: next, pageShift: pageShift)
        }
        return .skip
    }

    /// pte_entry: called for every pte in range, present or not.
    @inline(__always) public mutating func pteEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction {
        let e = Entry(raw: raw)
        if e.isPresent { result.addLeaf(e, entryStart: addr, from: addr, to: next, pageShift: pageShift) }
        return .skip
    }

    /// One entry point per kind, as the ops table would hold them.
    @inline(__always) public mutating func entry(_ level: WalkLevel, _ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction {
        level == .pte ? pteEntry(raw, addr, next) : upperEntry(raw, addr, next, level: level)
    }

    /// pte_hole: nothing mapped there, nothing to count.
    @inline(__always) public mutating func hole(_ addr: UInt64, _ next: UInt64, _ level: WalkLevel) {}
}
