import CWalkKernels
import CWalkKernelsRetpoline

/// The C dispatch kinds of the `callback` walker, and `lookup-c`.
///
/// The walk is CallbackWalker's, written in C (Sources/CWalkKernels/walk_impl.h + walk_loop.h) over the
/// same memory: the pool's entries and generations are read in place (relaxed atomic loads), with the
/// same level → hook mapping (levels named from the bottom), the same ACTION_AGAIN bound, pte_entry for
/// every pte and pte_hole for a non-present upper entry, and the counting hooks (CountingOps) behind a
/// `struct wk_ops` of C function pointers. Only the call to a hook differs between the kinds:
///
/// - `c-indirect`: the plain build (CWalkKernels), `call *reg` through the ops table.
/// - `c-retpoline`: the same source compiled with `-mretpoline` (CWalkKernelsRetpoline): every hook
///   call goes through `__llvm_retpoline_r11` (or another register's thunk).
/// - `promoted`: the retpoline build, each hook call first compared with the counting hooks and made
///   directly on a match (INDIRECT_CALL_2 for entries, INDIRECT_CALL_1 for pte_hole); a miss would pay
///   the thunk.
///
/// The oracle runs in C with OracleOn's semantics (log (table, generation) on each table followed, note
/// poison, check all records after an acquire fence before returning); a walk that read a freed table
/// is handed to the window as `sawPoison()`, which taints it, so the runner counts it as any walker's.
///
/// The window's `beforeLeafTable` is mirrored only in part: the C walks spin the window's injected
/// delay (`--window-delay-ns`, validation) before reading a last-level table, read from the runner's
/// `Window` through `CWalkDelaySource` below; they do not call the strategy's `leafTableReached`. Only
/// the validation-only `counted-early-dec` strategy does anything there, and the validation matrix runs
/// it with the `lookup` walker alone. A window other than `Window` gets no delay.

/// One C build's entry points for the callback walk.
public protocol CWalkKernel {
    static var dispatch: String { get }
    /// The build's counting hooks as an ops table (fetched once per walker, out of line).
    static func countingOps(_ set: Int32) -> UnsafePointer<wk_ops>
    static func walk(_ space: UnsafePointer<wk_space>, _ ops: UnsafePointer<wk_ops>, _ start: UInt64, _ end: UInt64,
                     _ oracle: UnsafeMutablePointer<wk_oracle>?, _ set: Int32) -> wk_result
}

extension OpsSetKind {
    /// WK_OPS_* for the C walks.
    var cValue: Int32 {
        switch self {
        case .everyEntry: Int32(WK_OPS_EVERY_ENTRY)
        case .pmdEntry: Int32(WK_OPS_PMD_ENTRY)
        case .pteEntry: Int32(WK_OPS_PTE_ENTRY)
        }
    }
}

/// `c-indirect`: the plain C build, hooks called through function pointers.
public enum CIndirectKernel: CWalkKernel {
    public static let dispatch = "c-indirect"
    public static func countingOps(_ set: Int32) -> UnsafePointer<wk_ops> { wk_plain_counting_ops(set) }
    @inline(__always)
    public static func walk(_ space: UnsafePointer<wk_space>, _ ops: UnsafePointer<wk_ops>, _ start: UInt64, _ end: UInt64,
                            _ oracle: UnsafeMutablePointer<wk_oracle>?, _ set: Int32) -> wk_result {
        wk_plain_callback_walk(space, ops, start, end, oracle, set)
    }
}

/// `c-retpoline`: the same C source built with -mretpoline, every hook call through a thunk.
public enum CRetpolineKernel: CWalkKernel {
    public static let dispatch = "c-retpoline"
    public static func countingOps(_ set: Int32) -> UnsafePointer<wk_ops> { wk_retp_counting_ops(set) }
    @inline(__always)
    public static func walk(_ space: UnsafePointer<wk_space>, _ ops: UnsafePointer<wk_ops>, _ start: UInt64, _ end: UInt64,
                            _ oracle: UnsafeMutablePointer<wk_oracle>?, _ set: Int32) -> wk_result {
        wk_retp_callback_walk(space, ops, start, end, oracle, set)
    }
}

/// `promoted`: the retpoline build with INDIRECT_CALL_n-style compare-and-direct-call at each hook call.
public enum CPromotedKernel: CWalkKernel {
    public static let dispatch = "promoted"
    public static func countingOps(_ set: Int32) -> UnsafePointer<wk_ops> { wk_retp_counting_ops(set) }
    @inline(__always)
    public static func walk(_ space: UnsafePointer<wk_space>, _ ops: UnsafePointer<wk_ops>, _ start: UInt64, _ end: UInt64,
                            _ oracle: UnsafeMutablePointer<wk_oracle>?, _ set: Int32) -> wk_result {
        wk_retp_callback_walk_promoted(space, ops, start, end, oracle, set)
    }
}

/// The callback walker with its loop and hooks in C; `Kernel` picks the build and the call style.
public struct CCallbackWalker<Kernel: CWalkKernel, Ops: CallbackOpsSet>: PageWalker {
    public static var name: String { Ops.walkerName }
    public static var revision: Int { CallbackWalker<DirectHooks, Ops>.revision }
    public static var summary: String { Ops.summary }
    public static var dispatch: String { Kernel.dispatch }
    public static var takesPTELock: Bool { Ops.takesPTELock }

    private let state: CWalkState
    private let ops: UnsafePointer<wk_ops>
    private let span: UInt64
    public let oracleCapacity: Int

    public init(mm: AddressSpace, options: WalkOptions) {
        span = options.span
        oracleCapacity = Self.oracleCapacity(mm: mm, span: options.span)
        state = CWalkState(mm: mm, oracleCapacity: oracleCapacity)
        ops = Kernel.countingOps(Ops.set.cValue)
    }

    @inline(__always)
    public mutating func walk<Win: WalkWindow>(at address: UInt64, window: inout Win) -> WalkResult {
        let r: wk_result
        if Win.oracleEnabled {
            var oracle = state.oracle(delay: window)
            r = Kernel.walk(state.space, ops, address, address &+ span, &oracle, Ops.set.cValue)
            if r.read_freed != 0 { window.sawPoison() }
        } else {
            r = Kernel.walk(state.space, ops, address, address &+ span, nil, Ops.set.cValue)
        }
        return WalkResult(leaves: Int(truncatingIfNeeded: r.leaves), frameSum: r.frame_sum, retries: Int(truncatingIfNeeded: r.retries))
    }
}

/// `lookup-c`: LookupWalker in C (plain build), the reference the Swift lookup is compared with.
public struct CLookupWalker: PageWalker {
    public static let name = "lookup-c"
    /// Bumped when what this walker measures changes meaning; `bench compare` never compares across revisions.
    /// 2: try-get on the folio, put after the window (as `lookup` revision 2).
    public static let revision = 2
    public static let summary = "LookupWalker's work in C over the same tables: the reference the Swift walk is compared with"

    private let state: CWalkState
    private let pages: UnsafeMutablePointer<wk_pages>
    private let takeReference: Bool
    private let pin: Bool

    public init(mm: AddressSpace, options: WalkOptions) {
        state = CWalkState(mm: mm, oracleCapacity: LevelMath.maxLevels)
        pages = state.pages
        takeReference = options.takeReference
        pin = options.pin
    }

    public var oracleCapacity: Int { LevelMath.maxLevels }

    @inline(__always)
    public mutating func walk<Win: WalkWindow>(at address: UInt64, window: inout Win) -> WalkResult {
        let r: wk_result
        if Win.oracleEnabled {
            var oracle = state.oracle(delay: window)
            r = wk_lookup(state.space, pages, address, takeReference ? 1 : 0, pin ? 1 : 0, &oracle)
            if r.read_freed != 0 { window.sawPoison() }
            // The C walk compared the generations; a mismatch is reported as the Swift one would see it.
            if r.read_freed_page != 0 { window.tookPage(mapped: 1, held: 0) }
        } else {
            r = wk_lookup(state.space, pages, address, takeReference ? 1 : 0, pin ? 1 : 0, nil)
        }
        var result = WalkResult(leaves: Int(truncatingIfNeeded: r.leaves), frameSum: r.frame_sum, retries: Int(truncatingIfNeeded: r.retries))
        result.heldFolio = r.held_folio
        result.heldSmallFolio = r.held_small != 0
        return result
    }

    @inline(__always)
    public mutating func releasePages(_ result: WalkResult) {
        if result.heldFolio != 0 { wk_release_folio(pages, result.heldFolio &- 1, result.heldSmallFolio ? 1 : 0, pin ? 1 : 0) }
    }
}

/// What the C walks keep per walker: their copy of the table layout (`wk_space`: TableMemory, LevelMath,
/// the root) and the oracle's record buffer, sized like OracleOn's so a walk flushes early only where
/// the Swift log would.
final class CWalkState {
    let space: UnsafeMutablePointer<wk_space>
    let pages: UnsafeMutablePointer<wk_pages>
    let records: UnsafeMutablePointer<UInt64>
    let capacity: Int
    private let frames: PageFrames  // keeps the page words alive

    init(mm: AddressSpace, oracleCapacity: Int) {
        let memory = mm.pool.memory
        let math = mm.math
        var shifts = [UInt64](repeating: 0, count: LevelMath.maxLevels)
        var masks = [UInt64](repeating: 0, count: LevelMath.maxLevels)
        for i in 0..<math.count {
            shifts[i] = math.shifts[i]
            masks[i] = math.masks[i]
        }
        space = .allocate(capacity: 1)
        wk_space_init(space, UnsafeMutableRawPointer(memory.entries), UnsafeMutableRawPointer(memory.generations),
                      UInt64(memory.slotEntries), UInt64(mm.geometry.pageShift), mm.root.raw, UInt32(math.count),
                      shifts, masks, UnsafeMutableRawPointer(mm.pool.pteLocks.words).assumingMemoryBound(to: UInt32.self))
        capacity = max(oracleCapacity, 1)
        records = .allocate(capacity: capacity)
        frames = mm.pages
        pages = .allocate(capacity: 1)
        let words = mm.pages.words
        pages.initialize(to: wk_pages(directory: UnsafeMutableRawPointer(words.directory).assumingMemoryBound(to: UInt64.self),
                                      slot_mask: UInt64(words.slotMask)))
    }

    deinit {
        pages.deallocate()
        space.deallocate()
        records.deallocate()
    }

    /// The oracle argument of one walk: the record buffer and the window's injected delay.
    @inline(__always)
    func oracle<Win: WalkWindow>(delay window: Win) -> wk_oracle {
        let delay = (window as? any CWalkDelaySource)?.cWalkDelay ?? (ticks: 0, tsc: true)
        return wk_oracle(records: records, capacity: UInt64(capacity), delay_ticks: delay.ticks, delay_tsc: delay.tsc ? 1 : 0)
    }
}

/// How the C walks learn the runner's injected delay without a new WalkWindow requirement: the runner's
/// `Window` conforms. The cast is on a concrete type in every specialised walk loop, so it folds away.
protocol CWalkDelaySource {
    /// Window.beforeLeafTable's spin: ticks of the window's clock (TSC, or CLOCK_MONOTONIC ns).
    var cWalkDelay: (ticks: UInt64, tsc: Bool) { get }
}

extension Window: CWalkDelaySource {
    var cWalkDelay: (ticks: UInt64, tsc: Bool) {
        (Self.oracleEnabled ? delayTicks : 0, timeBase.source == .tsc)
    }
}
