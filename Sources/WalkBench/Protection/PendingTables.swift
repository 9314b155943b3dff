import Synchronization

/// The tables a gather has collected and not yet freed (mmu_gather's table batch).
public final class PendingTables: Sendable {
    private let tables = Locked<[TableIndex]>([])

    public init() {}

    public func add(_ t: TableIndex) { tables.withLock { $0.append(t) } }

    /// Everything collected, or nil when nothing was.
    public func takeAll() -> [TableIndex]? {
        tables.withLock { g in
            guard !g.isEmpty else { return nil }
            defer { g.removeAll(keepingCapacity: true) }
            return g
        }
    }
}
