#if canImport(Glibc)
import Glibc
#endif
import CWalkSupport
import Synchronization

/// The split PTE-table locks (ptlock in the table's struct page, pte_lockptr): one spinlock per table
/// slot of the pool. Writers hold it while they change a PTE table's entries (zap_pte_range) or take the
/// table out (collapse); `walk_page_range`'s and `page_vma_mapped_walk`'s walkers hold it while they
/// read one (pte_offset_map_lock); gup_fast never takes it.
///
/// The kernel's rule for who may take it: a walker with interrupts off must never spin on it, because
/// its holder may be waiting for that walker's IPI ack (zap_pte_range flushes under it). Walkers that
/// take it are therefore refused with strategies whose walkers mask interrupts (`PTELockRule`).
public struct PTELocks: @unchecked Sendable {
    // @unchecked Sendable: atomics only, owned by the pool, which outlives every walk.
    let words: UnsafeMutablePointer<Atomic<UInt32>>

    /// spin_lock: acquire, spinning (and yielding now and then: the holder may need this core).
    @inline(__always)
    public func lock(_ table: TableIndex) {
        let word = words + table.int
        var spins = 0
        while !word.pointee.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
            repeat {
                wb_cpu_relax()
                spins &+= 1
                if spins & 1023 == 0 { sched_yield() }
            } while word.pointee.load(ordering: .relaxed) != 0
        }
    }

    /// spin_unlock: release.
    @inline(__always)
    public func unlock(_ table: TableIndex) { words[table.int].store(0, ordering: .releasing) }

    public func isLocked(_ table: TableIndex) -> Bool { words[table.int].load(ordering: .relaxed) != 0 }
}

/// Which walkers may take the PTE lock under which strategies.
public enum PTELockRule {
    /// nil when the pair is valid, else why not, in one line.
    public static func refusal(walker: String, strategy: String) -> String? {
        guard let w = Walkers.all.first(where: { $0.name == walker }), w.takesPTELock,
              let s = Strategies.all.first(where: { $0.name == strategy }), s.walkersMaskInterrupts else { return nil }
        return "walker \(walker) takes the PTE lock and strategy \(strategy)'s walkers run with interrupts off: a walker with interrupts off must never spin on a lock whose holder may be waiting for its IPI ack (zap_pte_range flushes under the PTE lock)"
    }
}
