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
}

/// The ops table as a protocol, for the existential kind.
public protocol WalkOpsTable {
    mutating func reset()
    var result: WalkResult { get }
    mutating func pgdEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction
    mutating func p4dEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction
    mutating func pudEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction
    mutating func pmdEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction
    mutating func pteEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction
    mutating func pteHole(_ addr: UInt64, _ next: UInt64, _ level: WalkLevel)
}

extension CountingOps: WalkOpsTable {
    public mutating func pgdEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction { upperEntry(raw, addr, next, level: .pgd) }
    public mutating func p4dEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction { upperEntry(raw, addr, next, level: .p4d) }
    public mutating func pudEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction { upperEntry(raw, addr, next, level: .pud) }
    public mutating func pmdEntry(_ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction { upperEntry(raw, addr, next, level: .pmd) }
    public mutating func pteHole(_ addr: UInt64, _ next: UInt64, _ level: WalkLevel) { hole(addr, next, level) }
}

/// `existential`: the ops behind `any WalkOpsTable`; every hook is a witness-table call.
public struct ExistentialHooks: WalkHooks {
    public static let dispatch = "existential"
    private var ops: any WalkOpsTable
    /// Built out of line so the optimiser cannot see the concrete type and devirtualise the calls.
    @inline(never) static func box(_ ops: CountingOps) -> any WalkOpsTable { ops }
    public init(_ ops: CountingOps) { self.ops = Self.box(ops) }
    @inline(__always) public mutating func reset() { ops.reset() }
    public var result: WalkResult { ops.result }
    @inline(__always) public mutating func entry(_ level: WalkLevel, _ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction {
        switch level {
        case .pgd: return ops.pgdEntry(raw, addr, next)
        case .p4d: return ops.p4dEntry(raw, addr, next)
        case .pud: return ops.pudEntry(raw, addr, next)
        case .pmd: return ops.pmdEntry(raw, addr, next)
        case .pte: return ops.pteEntry(raw, addr, next)
        }
    }
    @inline(__always) public mutating func hole(_ addr: UInt64, _ next: UInt64, _ level: WalkLevel) { ops.pteHole(addr, next, level) }
}

/// `closure`: struct mm_walk_ops with Swift closures in its slots; the state they share lives in a box.
public struct ClosureHooks: WalkHooks {
    public static let dispatch = "closure"

    final class State {
        var ops: CountingOps
        init(_ ops: CountingOps) { self.ops = ops }
    }

    struct Table {
        let entry: InlineArray<5, (UInt64, UInt64, UInt64) -> WalkAction>  // by WalkLevel
        let hole: (UInt64, UInt64, WalkLevel) -> Void
    }

    private let state: State
    private let table: Table

    /// Built out of line so the closures stay opaque to the optimiser, as a function pointer in an ops
    /// table is to the kernel's compiler.
    @inline(never) static func makeTable(_ s: State) -> Table {
        Table(entry: [
            { s.ops.upperEntry($0, $1, $2, level: .pgd) },
            { s.ops.upperEntry($0, $1, $2, level: .p4d) },
            { s.ops.upperEntry($0, $1, $2, level: .pud) },
            { s.ops.upperEntry($0, $1, $2, level: .pmd) },
            { s.ops.pteEntry($0, $1, $2) },
        ], hole: { s.ops.hole($0, $1, $2) })
    }

    public init(_ ops: CountingOps) {
        state = State(ops)
        table = Self.makeTable(state)
    }

    @inline(__always) public mutating func reset() { state.ops.reset() }
    public var result: WalkResult { state.ops.result }
    @inline(__always) public mutating func entry(_ level: WalkLevel, _ raw: UInt64, _ addr: UInt64, _ next: UInt64) -> WalkAction {
        table.entry[Int(level.rawValue)](raw, addr, next)
    }
    @inline(__always) public mutating func hole(_ addr: UInt64, _ next: UInt64, _ level: WalkLevel) { table.hole(addr, next, level) }
}
