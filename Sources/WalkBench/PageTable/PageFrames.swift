import Glibc
import Synchronization

/// The data pages leaves map: one word per frame, what struct page's `_refcount` is to gup_fast, plus
/// a generation the oracle reads.
///
/// Word layout: `[generation 32][refcount 32]`. A folio (one page, a PTE-mapped large folio, or a huge
/// leaf's pages) is counted on its head frame's word, as the kernel counts on the folio's one
/// `_refcount`. Each mapping of a page holds one reference; the page is freed when the count reaches
/// zero, and freeing bumps the generation, so a walker that ends up holding a page of another
/// generation than the leaf it read holds a page that was freed under it (the oracle's page check).
/// A count of zero means free or frozen (page_ref_freeze): a try-get fails on it either way.
///
/// Storage is SPARSEMEM-like: a directory of sections of 2^18 frames, each section allocated by the
/// writer that first maps a frame in it and kept until the address space goes. A walker's page lookup
/// is therefore a section load and an index, where x86's SPARSEMEM_VMEMMAP needs only the add.
public final class PageFrames: @unchecked Sendable {
    // @unchecked Sendable: every word and directory slot is an atomic; sections are only ever added.
    public static let sectionShift: UInt64 = 18
    @usableFromInline static let sectionWords = 1 << Int(sectionShift)
    /// FOLL_PIN on a small folio adds this many references (GUP_PIN_COUNTING_BIAS).
    public static let pinBias: UInt32 = 1024

    @usableFromInline let directory: UnsafeMutablePointer<Atomic<UInt>>
    let directorySlots: Int
    private var sections: [UnsafeMutableRawPointer] = []

    /// - Parameter frameBits: bits of a frame number (address bits minus page shift).
    public init(frameBits: Int) throws {
        directorySlots = 1 << max(0, frameBits - Int(Self.sectionShift))
        directory = try Self.reserve(directorySlots * MemoryLayout<Atomic<UInt>>.stride)
            .bindMemory(to: Atomic<UInt>.self, capacity: directorySlots)
    }

    deinit {
        for s in sections { munmap(s, Self.sectionWords * 8) }
        munmap(directory, directorySlots * MemoryLayout<Atomic<UInt>>.stride)
    }

    private static func reserve(_ bytes: Int) throws -> UnsafeMutableRawPointer {
        // Zero-filled on first touch: a count of 0 and generation 0, a free page never used.
        let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else { throw SystemCallError(call: "mmap(\(bytes) bytes)", errno: errno) }
        return p
    }

    /// The hot operations as a value: walkers keep it in registers instead of reaching through the class.
    public var words: PageWords { PageWords(directory: directory, slotMask: directorySlots &- 1) }

    @inline(__always) func word(_ frame: UInt64) -> UnsafeMutablePointer<Atomic<UInt64>>? { words.word(frame) }
    public func tryGet(_ head: UInt64, refs: UInt32) -> UInt32? { words.tryGet(head, refs: refs) }
    public func put(_ head: UInt64, refs: UInt32) { words.put(head, refs: refs) }

    // MARK: Writer side

    /// The frame's word, its section allocated if it is the first of its section to be mapped.
    func ensureWord(_ frame: UInt64) -> UnsafeMutablePointer<Atomic<UInt64>> {
        if let w = word(frame) { return w }
        let slot = Int(truncatingIfNeeded: frame &>> Self.sectionShift) & (directorySlots &- 1)
        let s = try! Self.reserve(Self.sectionWords * 8)
        sections.append(s)
        // Release: the zeroed section before its address (writers hold the mmap_lock; one adds at a time).
        directory[slot].store(UInt(bitPattern: s), ordering: .releasing)
        return word(frame)!
    }

    /// A mapping takes `refs` references on the folio at `head` (allocating it when its count was 0).
    /// Returns the generation a leaf mapping it records.
    func map(_ head: UInt64, refs: UInt32) -> UInt32 {
        let old = ensureWord(head).pointee.wrappingAdd(UInt64(refs), ordering: .relaxed).oldValue
        return UInt32(truncatingIfNeeded: old &>> 32)
    }

    /// page_ref_freeze: if exactly `expected` references are held, set the count to zero so no
    /// try-get succeeds; else (someone else holds one: a GUP reference) leave it and fail.
    func freeze(_ head: UInt64, expected: UInt32) -> Bool {
        guard let w = word(head) else { return expected == 0 }
        let old = w.pointee.load(ordering: .relaxed)
        guard UInt32(truncatingIfNeeded: old) == expected else { return false }
        return w.pointee.compareExchange(expected: old, desired: old & ~0xFFFF_FFFF, ordering: .sequentiallyConsistent).exchanged
    }

    /// page_ref_unfreeze: put back the references a failed collapse froze.
    func unfreeze(_ head: UInt64, count: UInt32) {
        ensureWord(head).pointee.wrappingAdd(UInt64(count), ordering: .releasing)
    }

    /// Frees a frozen folio: its generation moves on, its count stays zero.
    func freeFrozen(_ head: UInt64) {
        ensureWord(head).pointee.wrappingAdd(1 &<< 32, ordering: .releasing)
    }

    // MARK: Inspection (tests, validation)

    public func count(_ frame: UInt64) -> UInt32 { word(frame).map { UInt32(truncatingIfNeeded: $0.pointee.load(ordering: .relaxed)) } ?? 0 }
    public func generation(_ frame: UInt64) -> UInt32 { word(frame).map { UInt32(truncatingIfNeeded: $0.pointee.load(ordering: .relaxed) &>> 32) } ?? 0 }
}

/// PageFrames' reader side: the directory's address and size, and the operations walkers do.
public struct PageWords: @unchecked Sendable {
    // @unchecked Sendable: a view of atomics owned by a PageFrames that outlives every walker.
    @usableFromInline let directory: UnsafeMutablePointer<Atomic<UInt>>
    @usableFromInline let slotMask: Int


    /// The frame's word, or nil where no frame of its section was ever mapped.
    @inline(__always)
    public func word(_ frame: UInt64) -> UnsafeMutablePointer<Atomic<UInt64>>? {
        // Acquire pairs with the release that publishes a new section (address dependency in the kernel).
        let section = directory[Int(truncatingIfNeeded: frame &>> PageFrames.sectionShift) & slotMask]
            .load(ordering: .acquiring)
        guard section != 0 else { return nil }
        return UnsafeMutablePointer<Atomic<UInt64>>(bitPattern: section)! + Int(truncatingIfNeeded: frame & UInt64(PageFrames.sectionWords &- 1))
    }

    /// folio_try_get / try_grab_folio_fast: add `refs` unless the count is zero (free or frozen).
    /// Returns the folio's generation as it was when the references were taken, or nil on failure.
    /// A fully ordered RMW, as the kernel's atomic_add_unless is on success.
    @inline(__always)
    public func tryGet(_ head: UInt64, refs: UInt32) -> UInt32? {
        guard let w = word(head) else { return nil }
        var old = w.pointee.load(ordering: .relaxed)
        while true {
            if UInt32(truncatingIfNeeded: old) == 0 { return nil }
            let (done, seen) = w.pointee.compareExchange(expected: old, desired: old &+ UInt64(refs),
                                                         ordering: .sequentiallyConsistent)
            if done { return UInt32(truncatingIfNeeded: old &>> 32) }
            old = seen
        }
    }

    /// folio_put / unpin: drop `refs`; the last one frees the page (generation bumped) in the same
    /// atomic step, so no try-get can see a zero count and an old generation after a free began.
    @inline(__always)
    public func put(_ head: UInt64, refs: UInt32) {
        guard let w = word(head) else { preconditionFailure("put on frame \(head), never mapped") }
        var old = w.pointee.load(ordering: .relaxed)
        while true {
            let count = UInt32(truncatingIfNeeded: old)
            precondition(count >= refs, "put of \(refs) on frame \(head) holding \(count)")
            let new = count == refs ? ((old &>> 32) &+ 1) &<< 32 : old &- UInt64(refs)
            // Release: what the holder did with the page happens before whoever frees it.
            let (done, seen) = w.pointee.compareExchange(expected: old, desired: new, ordering: .releasing)
            if done { return }
            old = seen
        }
    }

    /// FOLL_PIN on a large folio also counts the pin in `_pincount`, which lives in the first tail
    /// page's struct: a second RMW, on the next frame's word.
    @inline(__always)
    public func addPins(_ head: UInt64, _ pins: UInt32) {
        word(head &+ 1)?.pointee.wrappingAdd(UInt64(pins), ordering: .relaxed)
    }

    @inline(__always)
    public func removePins(_ head: UInt64, _ pins: UInt32) {
        word(head &+ 1)?.pointee.wrappingSubtract(UInt64(pins), ordering: .relaxed)
    }
}
