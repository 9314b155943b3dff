#if canImport(Glibc)
import Glibc
#endif

/// A value behind a pthread mutex, for the writer-side and bookkeeping state threads share (free list,
/// pending tables, histograms, the RCU gather). Synchronization.Mutex would do the same, but its futex
/// lives in the precompiled standard library, where ThreadSanitizer cannot see it, so `make tsan`
/// reported every use as a race; glibc's pthread_mutex is intercepted. Nothing on a walk's path takes it.
public final class Locked<Value>: @unchecked Sendable {
    // @unchecked Sendable: `value` is touched only between lock and unlock.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        let rc = pthread_mutex_init(mutex, nil)
        precondition(rc == 0, "pthread_mutex_init: \(rc)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @discardableResult
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
