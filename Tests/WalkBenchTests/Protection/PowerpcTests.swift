import Glibc
import Synchronization
import Testing
@testable import WalkBench

/// The powerpc family's serialize_against_pte_lookup: where each strategy sends its IPI round, counted
/// exactly (one round per huge PMD change it serializes; IPIs = rounds × CPUs in the mask but the sender).
@Suite(.serialized) struct PowerpcTests {
    /// A 32-huge-PMD THP mapping, CPU 0 (the writer) and CPU 1 (idle, acking IPIs) in the cpumask.
    static func withMapping<P: WalkProtection>(_ type: P.Type, _ body: (P, AddressSpace, Range<UInt64>) throws -> Void) throws {
        let g = Geometry.x86_64_4level
        let (mm, _, vma) = try AddressSpaceTests.makeSpace(g, bytes: 32 * g.pteTableCoverage)
        var rng = SplitMix64(seed: 6)
        try mm.populate(vma, density: 1, hugeFraction: 1, rng: &rng)
        #expect(mm.census().hugeLeaves == 32)
        let p = try P(ProtectionContext(mm: mm, cpuCount: 3))
        p.cpuStarted(0)
        mm.cpumask.set(0)
        defer {
            p.drain()
            mm.cpumask.clear(0)
            p.cpuStopping(0)
        }
        try UnmapFlushTests.withIdleCPU(p, mm) { try body(p, mm, vma) }
    }

    static func rounds(_ p: some BroadcastInvalidation) -> UInt64 { p.shared.serializeRounds }

    @Test func ppcSerializeSendsOneRoundPerHugePMDUnmapped() throws {
        try Self.withMapping(PpcSerializeProtection.self) { p, mm, vma in
            let g = mm.geometry
            let range = vma.lowerBound..<(vma.lowerBound + 16 * g.pteTableCoverage)
            let freed = try mm.lock.withWriteLock { try mm.unmap(range, protection: p, cpu: 0) }
            #expect(freed == 0, "huge leaves have no PTE table to free")
            #expect(Self.rounds(p) == 16)
            #expect(p.updaterCounters().ipisSent == 16, "one IPI a round: CPU 1 is the mask but the sender")
            // A split invalidates one huge PMD; a collapse clears one.
            let next = range.upperBound
            #expect(try mm.lock.withWriteLock { try mm.split(at: next, protection: p, cpu: 0) })
            #expect(Self.rounds(p) == 17)
            #expect(try mm.lock.withWriteLock { try mm.collapse(at: next, protection: p, cpu: 0) })
            #expect(Self.rounds(p) == 18)
        }
    }

    @Test func ppc58SerializesCollapseOnly() throws {
        try Self.withMapping(Ppc58Protection.self) { p, mm, vma in
            let g = mm.geometry
            _ = try mm.lock.withWriteLock { try mm.unmap(vma.lowerBound..<(vma.lowerBound + 16 * g.pteTableCoverage), protection: p, cpu: 0) }
            let next = vma.lowerBound + 16 * g.pteTableCoverage
            #expect(try mm.lock.withWriteLock { try mm.split(at: next, protection: p, cpu: 0) })
            #expect(Self.rounds(p) == 0, "munmap and split send nothing from 5.8 on")
            #expect(try mm.lock.withWriteLock { try mm.collapse(at: next, protection: p, cpu: 0) })
            #expect(Self.rounds(p) == 1 && p.updaterCounters().ipisSent == 1)
            p.drain()
            #expect(mm.pool.tablesFreed == 1, "the collapsed PTE table is freed after the grace period")
        }
    }

    @Test func ppcSerializeCountedSkipsRoundsWhileNoWalkerCounts() throws {
        try Self.withMapping(PpcSerializeCountedProtection.self) { p, mm, vma in
            let g = mm.geometry
            _ = try mm.lock.withWriteLock { try mm.unmap(vma.lowerBound..<(vma.lowerBound + 16 * g.pteTableCoverage), protection: p, cpu: 0) }
            #expect(Self.rounds(p) == 0, "no walker counted: every round skipped")
            // A walker inside its window on CPU 2 (counted, interrupts off, not in the mask): the next
            // change must send a round. It goes to the mask (CPU 1) and completes; the count alone
            // decided that it was sent.
            let inWalk = Atomic<Bool>(false), leave = Atomic<Bool>(false)
            let walker = try CPUThread {
                p.cpuStarted(2)
                p.beginWalk(cpu: 2)
                inWalk.store(true, ordering: .releasing)
                while !leave.load(ordering: .acquiring) { usleep(100) }
                p.endWalk(cpu: 2)
                p.cpuStopping(2)
            }
            while !inWalk.load(ordering: .acquiring) { usleep(100) }
            #expect(try mm.lock.withWriteLock { try mm.split(at: vma.lowerBound + 16 * g.pteTableCoverage, protection: p, cpu: 0) })
            leave.store(true, ordering: .releasing)
            walker.join()
            #expect(Self.rounds(p) == 1 && p.updaterCounters().ipisSent == 1)
        }
    }
}
