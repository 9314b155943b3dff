/// A lockless page-table walker. Every walker does the same work so their costs compare: resolve the
/// present leaves under its span, count them and sum their frame numbers (so nothing can be optimised
/// away). It runs inside its strategy's window and logs every table it follows to the oracle.
public protocol PageWalker: SendableMetatype {
    static var name: String { get }
    /// What the CSV's `walker_rev` column carries: bumped in the walker's own file when its numbers change meaning.
    static var revision: Int { get }
    static var summary: String { get }
    /// How the walker's per-entry hooks are called (`Dispatch`); "n/a" for walkers without hooks.
    static var dispatch: String { get }
    /// True if the walker takes the PTE table's lock while it reads it (pte_offset_map_lock).
    static var takesPTELock: Bool { get }
    /// Walkers that exist to show a bug the real one avoids: run by `bench validate` and by name only.
    static var validationOnly: Bool { get }
    init(mm: AddressSpace, options: WalkOptions)
    /// How many (table, generation) records one walk may log, to size the oracle's buffer.
    var oracleCapacity: Int { get }
    mutating func walk<Win: WalkWindow>(at address: UInt64, window: inout Win) -> WalkResult
    /// After the window has closed: drop the page references the walk handed over (`result`), as
    /// gup_fast's caller unpins the pages it got once it has used them.
    mutating func releasePages(_ result: WalkResult)
}

extension PageWalker {
    public static var dispatch: String { "n/a" }
    public static var takesPTELock: Bool { false }
    public static var validationOnly: Bool { false }
    @inline(__always) public mutating func releasePages(_ result: WalkResult) {}
}

/// The ways a callback walker's hooks can be called: each a measured dimension, not an accident.
public enum Dispatch {
    public static let none = "n/a"
    public static let kinds: [(name: String, summary: String)] = [
        ("direct", "generic, specialised: the hooks inline into the walk"),
        ("existential", "a Swift protocol existential (any WalkHooks): a witness-table call per entry"),
        ("closure", "Swift closures in an ops struct: a context + function-pointer call per entry"),
        ("c-indirect", "a C walk loop over the same tables calling a C ops table through function pointers"),
        ("c-retpoline", "the same C source compiled with clang -mretpoline: every hook call through a retpoline thunk"),
        ("promoted", "compare the hook pointer with the known hooks, then call directly (INDIRECT_CALL_n)"),
    ]
    public static var names: [String] { kinds.map(\.name) }
}

public struct WalkOptions: Sendable, Hashable {
    /// Bytes one walk covers (range walkers); lookups resolve one address.
    public var span: UInt64
    /// Take a reference on the leaf's page and re-check the entries, as gup_fast does.
    public var takeReference: Bool
    /// FOLL_PIN instead of FOLL_GET: a small folio gains `PageFrames.pinBias` references per page, a
    /// large one a reference and a `_pincount` per page (two RMWs).
    public var pin: Bool = false
    /// Dependent additions inside each walk's window (`--extra-work`): a known, deterministic slowdown
    /// for calibrating what a regression gate can see. 0 in every real measurement.
    public var extraWork: UInt64

    public init(span: UInt64 = 2 << 20, takeReference: Bool = true, extraWork: UInt64 = 0, pin: Bool = false) {
        self.span = span
        self.takeReference = takeReference
        self.extraWork = extraWork
        self.pin = pin && takeReference
    }

    /// The `take_ref` column: off, on (FOLL_GET), or pin (FOLL_PIN).
    public var takeRefColumn: String { !takeReference ? "off" : pin ? "pin" : "on" }
}

public struct WalkResult: Sendable, Equatable {
    public var leaves: Int
    public var frameSum: UInt64
    /// gup_fast's "bail to the slow path": an entry changed between the read and the re-check, or the
    /// page's count was zero (freed or frozen).
    public var retries: Int
    /// The folio whose reference the walk holds for its caller (head frame + 1; 0: none), and whether
    /// it is a small folio (how FOLL_PIN counted it). Lookups hold one; range walkers keep a list.
    public var heldFolio: UInt64 = 0
    public var heldSmallFolio = false

    @inline(__always) public init(leaves: Int = 0, frameSum: UInt64 = 0, retries: Int = 0) {
        self.leaves = leaves
        self.frameSum = frameSum
        self.retries = retries
    }

    public static let absent = WalkResult()
}
