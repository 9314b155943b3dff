/// A lockless page-table walker. Every walker does the same work so their costs compare: resolve the
/// present leaves under its span, count them and sum their frame numbers (so nothing can be optimised
/// away). It runs inside its strategy's window and logs every table it follows to the oracle.
public protocol PageWalker: SendableMetatype {
    static var name: String { get }
    static var summary: String { get }
    init(mm: AddressSpace, options: WalkOptions)
    /// How many (table, generation) records one walk may log, to size the oracle's buffer.
    var oracleCapacity: Int { get }
    mutating func walk<Win: WalkWindow>(at address: UInt64, window: inout Win) -> WalkResult
}

public struct WalkOptions: Sendable, Hashable {
    /// Bytes one walk covers (range walkers); lookups resolve one address.
    public var span: UInt64
    /// Take a reference on the leaf's page and re-check the entries, as gup_fast does.
    public var takeReference: Bool

    public init(span: UInt64 = 2 << 20, takeReference: Bool = true) {
        self.span = span
        self.takeReference = takeReference
    }
}

public struct WalkResult: Sendable, Equatable {
    public var leaves: Int
    public var frameSum: UInt64
    /// gup_fast's "bail to the slow path": an entry changed between the read and the re-check.
    public var retries: Int

    @inline(__always) public init(leaves: Int = 0, frameSum: UInt64 = 0, retries: Int = 0) {
        self.leaves = leaves
        self.frameSum = frameSum
        self.retries = retries
    }

    public static let absent = WalkResult()
}
