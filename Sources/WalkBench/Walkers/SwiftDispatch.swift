/// The Swift ways to call the callback walker's hooks. Each wraps the same `CountingOps`; only the call
/// differs, which is what the `dispatch` column measures.

/// `direct`: the generic walker specialised for the ops: hooks inline, as a static call would.
public struct DirectHooks: WalkHooks {
    public static let dispatch = "direct"
    private var ops: CountingOps
    public init(_ ops: CountingOps) { self.ops = ops }
    @inline(__always) public mutating func reset() { ops.reset() }
    public var result: WalkResult { ops.result }
    @inline(__always) public mutating func entry(_ level: WalkLevel, _ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction {
        ops.entry(level, raw, addr, next)
    }
    @inline(__always) public mutating func hole(_ addr: UInt64, _ next: UInt64, _ level: WalkLevel) { ops.hole(addr, next, level) }
    @inline(__always) public mutating func pmdRange(_ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction {
        ops.pmdRange(raw, addr, next)
    }
}

/// The ops table as a protocol, for the existential kind. Like struct mm_walk_ops, the hooks hold no
/// state: each gets the walk's state by pointer (the kernel's `struct mm_walk *walk`, whose `private`
/// the hooks update). Stateless conformers fit the existential's inline buffer, so a call is the
/// witness-table load and the indirect call, nothing more: no box to project, no uniqueness check
/// before a mutation, no reference to retain.
public protocol WalkOpsTable {
    func pgdEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64, _ walk: UnsafeMutablePointer<CountingOps>) -> WalkAction
    func p4dEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64, _ walk: UnsafeMutablePointer<CountingOps>) -> WalkAction
    func pudEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64, _ walk: UnsafeMutablePointer<CountingOps>) -> WalkAction
    func pmdEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64, _ walk: UnsafeMutablePointer<CountingOps>) -> WalkAction
    func pteEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64, _ walk: UnsafeMutablePointer<CountingOps>) -> WalkAction
    func pteHole(_ addr: UInt64, _ next: UInt64, _ level: WalkLevel, _ walk: UnsafeMutablePointer<CountingOps>)
    /// The pmd-entry set's pmd_entry (loops the PTEs itself).
    func pmdRange(_ raw: UInt64, _ addr: UInt64, _ next: UInt64, _ walk: UnsafeMutablePointer<CountingOps>) -> WalkAction
}

/// CountingOps's hooks as an ops table.
struct CountingOpsTable: WalkOpsTable {
    func pgdEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64, _ walk: UnsafeMutablePointer<CountingOps>) -> WalkAction {
        walk.pointee.upperEntry(raw, addr, next, level: .pgd)
    }
    func p4dEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64, _ walk: UnsafeMutablePointer<CountingOps>) -> WalkAction {
        walk.pointee.upperEntry(raw, addr, next, level: .p4d)
    }
    func pudEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64, _ walk: UnsafeMutablePointer<CountingOps>) -> WalkAction {
        walk.pointee.upperEntry(raw, addr, next, level: .pud)
    }
    func pmdEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64, _ walk: UnsafeMutablePointer<CountingOps>) -> WalkAction {
        walk.pointee.upperEntry(raw, addr, next, level: .pmd)
    }
    func pteEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64, _ walk: UnsafeMutablePointer<CountingOps>) -> WalkAction {
        walk.pointee.pteEntry(raw, addr, next)
    }
    func pteHole(_ addr: UInt64, _ next: UInt64, _ level: WalkLevel, _ walk: UnsafeMutablePointer<CountingOps>) {
        walk.pointee.hole(addr, next, level)
    }
    func pmdRange(_ raw: UInt64, _ addr: UInt64, _ next: UInt64, _ walk: UnsafeMutablePointer<CountingOps>) -> WalkAction {
        walk.pointee.pmdRange(raw, addr, next)
    }
}

/// The walk's state where hooks reach it by pointer (the kernel's `struct mm_walk`), allocated once per
/// walker and freed with its owner; nothing is allocated per walk.
final class WalkState {
    let walk: UnsafeMutablePointer<CountingOps>
    init(_ ops: CountingOps) {
        walk = .allocate(capacity: 1)
        walk.initialize(to: ops)
    }
    deinit { walk.deallocate() }
}

/// `existential`: the ops behind `any WalkOpsTable`; every hook is a witness-table call.
public struct ExistentialHooks: WalkHooks {
    public static let dispatch = "existential"
    /// 2: stateless ops, the state by pointer (revision 1 boxed the state and paid a uniqueness check per call).
    public static let revision = 2
    private let owner: WalkState
    private let walk: UnsafeMutablePointer<CountingOps>
    private let ops: any WalkOpsTable
    /// Built out of line so the optimiser cannot see the concrete type and devirtualise the calls.
    @inline(never) static func table() -> any WalkOpsTable { CountingOpsTable() }
    public init(_ ops: CountingOps) {
        owner = WalkState(ops)
        walk = owner.walk
        self.ops = Self.table()
    }
    @inline(__always) public mutating func reset() { walk.pointee.reset() }
    public var result: WalkResult { walk.pointee.result }
    @inline(__always) public mutating func entry(_ level: WalkLevel, _ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction {
        switch level {
        case .pgd: return ops.pgdEntry(raw, addr, next, walk)
        case .p4d: return ops.p4dEntry(raw, addr, next, walk)
        case .pud: return ops.pudEntry(raw, addr, next, walk)
        case .pmd: return ops.pmdEntry(raw, addr, next, walk)
        case .pte: return ops.pteEntry(raw, addr, next, walk)
        }
    }
    @inline(__always) public mutating func hole(_ addr: UInt64, _ next: UInt64, _ level: WalkLevel) {
        ops.pteHole(addr, next, level, walk)
    }
    @inline(__always) public mutating func pmdRange(_ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction {
        ops.pmdRange(raw, addr, next, walk)
    }
}

/// `closure`: struct mm_walk_ops with Swift closures in its slots. As in the kernel, the hooks capture
/// nothing: the walk's state reaches them by pointer, so a call is the closure's function and context
/// loaded from the table and an indirect call (state captured in a class box would add a dynamic
/// exclusivity check and reference counting to every call, which is not what the row is about).
public struct ClosureHooks: WalkHooks {
    public static let dispatch = "closure"
    /// 2: closures that capture nothing (revision 1 captured a class box: exclusivity checks and reference counting per call).
    public static let revision = 2

    typealias EntryHook = (UInt64, UInt64, UInt64, UnsafeMutablePointer<CountingOps>) -> WalkAction

    /// struct mm_walk_ops: one field per hook. (Kept in an InlineArray indexed by level, each call
    /// copied the closure out and retained and released its context around the call.)
    struct Table {
        let pgdEntry: EntryHook
        let p4dEntry: EntryHook
        let pudEntry: EntryHook
        let pmdEntry: EntryHook
        let pteEntry: EntryHook
        let pteHole: (UInt64, UInt64, WalkLevel, UnsafeMutablePointer<CountingOps>) -> Void
        let pmdRange: EntryHook
    }

    private let owner: WalkState
    private let walk: UnsafeMutablePointer<CountingOps>
    private let table: Table

    /// Built out of line so the closures stay opaque to the optimiser, as a function pointer in an ops
    /// table is to the kernel's compiler.
    @inline(never) static func makeTable() -> Table {
        Table(pgdEntry: { $3.pointee.upperEntry($0, $1, $2, level: .pgd) },
              p4dEntry: { $3.pointee.upperEntry($0, $1, $2, level: .p4d) },
              pudEntry: { $3.pointee.upperEntry($0, $1, $2, level: .pud) },
              pmdEntry: { $3.pointee.upperEntry($0, $1, $2, level: .pmd) },
              pteEntry: { $3.pointee.pteEntry($0, $1, $2) },
              pteHole: { $3.pointee.hole($0, $1, $2) },
              pmdRange: { $3.pointee.pmdRange($0, $1, $2) })
    }

    public init(_ ops: CountingOps) {
        owner = WalkState(ops)
        walk = owner.walk
        table = Self.makeTable()
    }

    @inline(__always) public mutating func reset() { walk.pointee.reset() }
    public var result: WalkResult { walk.pointee.result }
    @inline(__always) public mutating func entry(_ level: WalkLevel, _ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction {
        switch level {
        case .pgd: return table.pgdEntry(raw, addr, next, walk)
        case .p4d: return table.p4dEntry(raw, addr, next, walk)
        case .pud: return table.pudEntry(raw, addr, next, walk)
        case .pmd: return table.pmdEntry(raw, addr, next, walk)
        case .pte: return table.pteEntry(raw, addr, next, walk)
        }
    }
    @inline(__always) public mutating func hole(_ addr: UInt64, _ next: UInt64, _ level: WalkLevel) { table.pteHole(addr, next, level, walk) }
    @inline(__always) public mutating func pmdRange(_ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction {
        table.pmdRange(raw, addr, next, walk)
    }
}
