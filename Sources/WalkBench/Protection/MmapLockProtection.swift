/// `mmap-lock`: every walk holds the read side of the mm's mmap_lock.
///
/// Kernel analogue: the GUP slow path (get_user_pages under mmap_read_lock) and walk_page_range, which
/// asserts the lock; writers that free tables (munmap, khugepaged) hold it for writing.
///
/// Guarantee: a writer unlinks and frees tables only while it holds the write side, and no walker is
/// inside a walk then, so no walker can read a freed table. Freeing at once is safe.
///
/// Why not the alternative: it is what lockless walkers exist to avoid. Each walk is a read-lock
/// round trip on a shared cache line (contended across CPUs), and a writer stalls every walker.
public final class MmapLockProtection: WalkProtection {
    public static let name = "mmap-lock"
    /// Bumped when what this strategy measures changes meaning; `bench compare` never compares across revisions.
    public static let revision = 1
    public static let summary = "walkers hold mmap_lock for read (the gup slow path); writers free under the write lock"
    public static let kernel = "all versions, every architecture: the gup slow path and walk_page_range under mmap_lock (per-VMA locks for some walkers in recent kernels)"
    public static let guaranteesSafety = true

    private let lock: MmapLock
    private let pool: TablePool

    public init(_ context: ProtectionContext) {
        lock = context.mm.lock
        pool = context.mm.pool
    }

    @inline(__always) public func beginWalk(cpu: Int) { lock.readLock() }
    @inline(__always) public func endWalk(cpu: Int) { lock.readUnlock() }

    public func retire(_ table: TableIndex, cpu: Int) { pool.free(table) }
    public func flush(cpu: Int) {}
    public func drain() {}

    /// The writer frees under the write lock, which it cannot take while the walker reads under the read lock.
    public func freeHeldBack(walker: Int, writer: Int) -> String? {
        lock.writersWaiting > 0 ? "the writer waits for the mmap_lock, which the walker holds for reading" : nil
    }
}
