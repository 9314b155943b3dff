/// One 64-bit page-table entry.
///
/// Layout (ours, not any architecture's):
/// ```
///  63            48 47                         2  1      0
/// [ generation 16 ][ payload 46: table index or frame ][leaf][present]
/// ```
/// A table entry carries the generation its child table had when it was linked; the oracle compares
/// it with the child's current generation. A leaf's payload is a frame number, and its top 16 bits
/// say which folio the page belongs to: `[folio generation 11][folio order 5]`, the order of a
/// PTE-mapped large folio (0 for a small page; 0 in a huge leaf, whose folio starts at its frame) and
/// the folio's generation when it was mapped. The kernel finds the folio through the page
/// (page->compound_head); the model keeps it in the entry so a walker needs no extra load for it. PTE-level entries are
/// always leaves, so a walker never follows a frame as if it were a table, even in a reused page.
/// 46 payload bits hold every frame of a 57-bit (5-level) address space; 16 generation bits would need
/// 65,536 frees of one slot inside a single walk to wrap unseen.
public struct Entry: Hashable, Sendable, CustomStringConvertible {
    public var raw: UInt64

    @inline(__always) public init(raw: UInt64) { self.raw = raw }

    public static let presentBit: UInt64 = 1 << 0
    public static let leafBit: UInt64 = 1 << 1
    public static let payloadShift: UInt64 = 2
    public static let payloadBits: UInt64 = 46
    public static let payloadMask: UInt64 = (1 << payloadBits) - 1
    public static let generationShift: UInt64 = 48
    public static let generationBits: UInt64 = 16
    public static let generationMask: UInt64 = (1 << generationBits) - 1

    /// What a freed table is filled with: not present (so a walker stops) but unmistakable.
    public static let poison = Entry(raw: 0xDEAD_BEEF_0BAD_F00C)
    public static let empty = Entry(raw: 0)

    @inline(__always)
    public static func table(_ index: TableIndex, generation: UInt32) -> Entry {
        Entry(raw: presentBit
            | (UInt64(index.raw) << payloadShift)
            | ((UInt64(generation) & generationMask) << generationShift))
    }

    public static let folioOrderBits: UInt64 = 5
    public static let folioGenerationShift: UInt64 = generationShift + folioOrderBits
    public static let folioGenerationMask: UInt64 = (1 << (generationBits - folioOrderBits)) - 1

    @inline(__always)
    public static func leaf(frame: UInt64, folioGeneration: UInt32 = 0, folioOrder: Int = 0) -> Entry {
        precondition(frame <= payloadMask, "frame \(frame) does not fit in \(payloadBits) bits")
        precondition(folioOrder < 1 << folioOrderBits, "folio order \(folioOrder)")
        return Entry(raw: presentBit | leafBit | (frame << payloadShift)
            | (UInt64(folioOrder) << generationShift)
            | ((UInt64(folioGeneration) & folioGenerationMask) << folioGenerationShift))
    }

    @inline(__always) public var isPresent: Bool { raw & Entry.presentBit != 0 }
    @inline(__always) public var isLeaf: Bool { raw & Entry.leafBit != 0 }
    @inline(__always) public var isTable: Bool { raw & (Entry.presentBit | Entry.leafBit) == Entry.presentBit }
    @inline(__always) public var isPoison: Bool { raw == Entry.poison.raw }
    @inline(__always) public var payload: UInt64 { (raw &>> Entry.payloadShift) & Entry.payloadMask }
    @inline(__always) public var frame: UInt64 { payload }
    @inline(__always) public var tableIndex: TableIndex { TableIndex(raw: UInt32(truncatingIfNeeded: payload)) }
    /// The child's generation when this entry was written (16 bits; compare with `Entry.truncate`).
    @inline(__always) public var generation: UInt32 { UInt32(truncatingIfNeeded: (raw &>> Entry.generationShift) & Entry.generationMask) }

    @inline(__always) public static func truncate(generation: UInt32) -> UInt32 { generation & UInt32(generationMask) }

    /// A leaf's folio order (pages = 1 << order) for a PTE-mapped page.
    @inline(__always) public var folioOrder: UInt64 { (raw &>> Entry.generationShift) & ((1 << Entry.folioOrderBits) - 1) }
    /// A leaf's folio generation when it was mapped (11 bits; compare with `Entry.truncate(folioGeneration:)`).
    @inline(__always) public var folioGeneration: UInt32 { UInt32(truncatingIfNeeded: raw &>> Entry.folioGenerationShift) }
    @inline(__always) public static func truncate(folioGeneration: UInt32) -> UInt32 { folioGeneration & UInt32(folioGenerationMask) }

    /// The head frame of the folio a leaf maps: a pte's page rounded down to its folio's order; a
    /// huge leaf's folio starts at its own frame.
    @inline(__always) public func folioHead(isPTE: Bool) -> UInt64 { isPTE ? frame & ~((1 &<< folioOrder) &- 1) : frame }

    public var description: String {
        if raw == 0 { return "empty" }
        if isPoison { return "poison" }
        if !isPresent { return "raw(0x\(String(raw, radix: 16)))" }
        return isLeaf ? "leaf(frame \(frame))" : "table(\(tableIndex.raw) gen \(generation))"
    }
}

/// A table page's number in the pool. 32 bits: the pool holds at most 2^32 tables.
public struct TableIndex: Hashable, Sendable {
    public var raw: UInt32
    @inline(__always) public init(raw: UInt32) { self.raw = raw }
    @inline(__always) public init(_ value: Int) { self.raw = UInt32(value) }
    @inline(__always) public var int: Int { Int(raw) }
}
