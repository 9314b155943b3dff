#if canImport(Glibc)
import Glibc
#endif
import CWalkSupport
import Synchronization

/// The mm's mmap_lock: writers (unmap, populate, collapse, split) take the write side and so are
/// serialized among themselves; walkers take the read side only if their strategy says so.
/// Writer-preferring, like an rwsem: a queued writer holds off new readers.
public final class MmapLock: @unchecked Sendable {
    // @unchecked Sendable: the pthread lock is the synchronisation.
    @usableFromInline let lock: UnsafeMutablePointer<pthread_rwlock_t>
    /// Writers inside `writeLock` that do not hold the lock yet (forced schedules read it).
    private let waitingWriters = Atomic<Int>(0)

    public init() throws {
        lock = .allocate(capacity: 1)
        try pthreadCall("pthread_rwlock_init") { wb_rwlock_init_writer_preferring(lock) }
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    @inline(__always) public func readLock() { pthread_rwlock_rdlock(lock) }
    @inline(__always) public func readUnlock() { pthread_rwlock_unlock(lock) }
    public func writeLock() {
        waitingWriters.wrappingAdd(1, ordering: .relaxed)
        pthread_rwlock_wrlock(lock)
        waitingWriters.wrappingSubtract(1, ordering: .relaxed)
    }
    public var writersWaiting: Int { waitingWriters.load(ordering: .relaxed) }
    public func writeUnlock() { pthread_rwlock_unlock(lock) }

    public func withWriteLock<R>(_ body: () throws -> R) rethrows -> R {
        writeLock()
        defer { writeUnlock() }
        return try body()
    }
}
