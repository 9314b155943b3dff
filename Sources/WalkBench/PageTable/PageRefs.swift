import Synchronization

/// Reference counts for the data pages that leaves map: what gup_fast's try_grab_folio increments.
///
/// A real struct page per frame would cost gigabytes for a sparse terabyte, so frames hash onto a fixed
/// array of counters. The cost being modelled is one atomic read-modify-write on a line other CPUs may
/// also touch, which the hashing keeps.
public final class PageRefs: @unchecked Sendable {
    // @unchecked Sendable: every counter is an atomic.
    public static let slots = 1 << 16
    @usableFromInline let counts: UnsafeMutablePointer<Atomic<UInt32>>

    public init() {
        counts = .allocate(capacity: Self.slots)
        for i in 0..<Self.slots { (counts + i).initialize(to: Atomic(0)) }
    }

    deinit { counts.deallocate() }

    /// folio_try_get: a fully ordered RMW (atomic_add_unless is ordered on success in the kernel).
    @inline(__always)
    public func get(_ frame: UInt64) {
        counts[Self.slot(frame)].wrappingAdd(1, ordering: .sequentiallyConsistent)
    }

    /// folio_put.
    @inline(__always)
    public func put(_ frame: UInt64) {
        counts[Self.slot(frame)].wrappingSubtract(1, ordering: .releasing)
    }

    public func count(_ frame: UInt64) -> UInt32 { counts[Self.slot(frame)].load(ordering: .relaxed) }

    @inline(__always)
    static func slot(_ frame: UInt64) -> Int {
        Int(truncatingIfNeeded: (frame &* 0x9E37_79B9_7F4A_7C15) &>> 48)
    }
}
