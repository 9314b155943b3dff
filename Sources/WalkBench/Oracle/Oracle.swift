import Synchronization

/// Use-after-free detection, the same for every strategy.
///
/// Each table has a generation that `TablePool.free` bumps before it poisons the page; the entry that
/// links a table carries the generation the table had when it was linked. A walker logs every table it
/// follows. Before it leaves its protection window it checks them all: a generation that moved means
/// the table was freed while this walker could still read it, which is exactly what every strategy
/// promises cannot happen. Reading a poisoned entry counts too. At most one detection is counted per walk.
///
/// The log is a generic parameter of the walk loop, so `OracleOff` compiles to nothing.
public protocol OracleLog: SendableMetatype {
    static var enabled: Bool { get }
    init(pool: TablePool, capacity: Int)
    /// Starts a walk's log.
    mutating func begin()
    /// The walker is about to read `table`, reached through an entry written at `generation`.
    mutating func followed(_ table: TableIndex, linkedAt generation: UInt32)
    /// The walker read a poisoned entry.
    mutating func sawPoison()
    /// Checks the log; call it inside the window, after the walk's last table read. True if this walk
    /// read a table that was freed under it.
    mutating func readFreedTable() -> Bool
    /// The walker took references on a folio at generation `held` for a leaf that mapped it at
    /// generation `mapped`: if they differ, the page was freed (and reused) between the leaf's read
    /// and the references, and the walker hands its caller a page that is not the one mapped.
    mutating func tookPage(mapped: UInt32, held: UInt32)
    /// True (once) if this walk handed over such a page.
    mutating func readFreedPage() -> Bool
    /// Frees the log's storage.
    func release()
    /// Raise `cpu`'s open-window flag in the pool while a walk is open (stress statistics).
    mutating func watch(cpu: Int)
}

extension OracleLog {
    public mutating func watch(cpu: Int) {}
}

public struct OracleOn: OracleLog {
    public static var enabled: Bool { true }
    @usableFromInline let generations: UnsafeMutablePointer<Atomic<UInt32>>
    @usableFromInline let records: UnsafeMutablePointer<UInt64>
    @usableFromInline let capacity: Int
    @usableFromInline var count = 0
    @usableFromInline var tainted = false
    @usableFromInline var pageTainted = false
    /// This CPU's open-window flag in the pool, when watched.
    @usableFromInline var openWindow: UnsafeMutablePointer<Atomic<UInt32>>?
    /// CPU 0's flag; no reference to the pool is kept (no ARC in the walk loop).
    @usableFromInline let firstWindowFlag: UnsafeMutablePointer<Atomic<UInt32>>

    public init(pool: TablePool, capacity: Int) {
        firstWindowFlag = pool.openWindowFlag(cpu: 0)
        generations = pool.generations
        self.capacity = max(capacity, 1)
        records = .allocate(capacity: self.capacity)
    }

    public func release() { records.deallocate() }

    public mutating func watch(cpu: Int) {
        precondition(cpu >= 0 && cpu < CPUMask.maxCPUs)
        openWindow = firstWindowFlag + cpu &* TablePool.windowStride
    }

    @inline(__always) public mutating func begin() {
        count = 0
        tainted = false
        openWindow?.pointee.store(1, ordering: .relaxed)
    }

    @inline(__always) public mutating func followed(_ table: TableIndex, linkedAt generation: UInt32) {
        if count == capacity { flush() }
        records[count] = UInt64(table.raw) << 32 | UInt64(generation)
        count &+= 1
    }

    @inline(__always) public mutating func sawPoison() { tainted = true }

    @inline(__always) public mutating func tookPage(mapped: UInt32, held: UInt32) {
        if Entry.truncate(folioGeneration: held) != mapped { pageTainted = true }
    }

    @inline(__always) public mutating func readFreedPage() -> Bool {
        defer { pageTainted = false }
        return pageTainted
    }

    @inline(__always) public mutating func readFreedTable() -> Bool {
        flush()
        openWindow?.pointee.store(0, ordering: .relaxed)
        return tainted
    }

    /// Compares every logged table's generation now with the one it was linked at.
    @inline(__always) @usableFromInline mutating func flush() {
        // Acquire: the generation loads below may not move above the table reads before this point.
        // Pairs with the release fence in TablePool.free between the bump and the poison stores.
        atomicMemoryFence(ordering: .acquiring)
        for i in 0..<count {
            let r = records[i]
            let now = generations[Int(truncatingIfNeeded: r >> 32)].load(ordering: .relaxed)
            if Entry.truncate(generation: now) != UInt32(truncatingIfNeeded: r) { tainted = true }
        }
        count = 0
    }
}

public struct OracleOff: OracleLog {
    public static var enabled: Bool { false }
    public init(pool: TablePool, capacity: Int) {}
    public func release() {}
    @inline(__always) public mutating func begin() {}
    @inline(__always) public mutating func followed(_ table: TableIndex, linkedAt generation: UInt32) {}
    @inline(__always) public mutating func sawPoison() {}
    @inline(__always) public mutating func readFreedTable() -> Bool { false }
    @inline(__always) public mutating func tookPage(mapped: UInt32, held: UInt32) {}
    @inline(__always) public mutating func readFreedPage() -> Bool { false }
}
