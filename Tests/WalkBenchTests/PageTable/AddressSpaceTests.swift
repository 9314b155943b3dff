import Testing
@testable import WalkBench

/// Writer-side bookkeeping: what populate maps, that unmap frees every table that empties, that
/// collapse and split keep the mapping, and that the live-table count goes back to the root alone.
@Suite struct AddressSpaceTests {
    static func makeSpace(_ g: Geometry, bytes: UInt64) throws -> (AddressSpace, NoProtection, Range<UInt64>) {
        let mm = try AddressSpace(geometry: g, mappedBytes: bytes)
        let base = Runner.vmaBase(g)
        let vma = base..<(base + bytes)
        mm.addVMA(vma)
        return (mm, NoProtection(ProtectionContext(mm: mm, cpuCount: 1)), vma)
    }

    @Test func densePopulateMapsEveryPageAndUnmapFreesEveryTable() throws {
        let g = Geometry.x86_64_4level
        let (mm, none, vma) = try Self.makeSpace(g, bytes: 8 << 20)
        var rng = SplitMix64(seed: 1)
        try mm.populate(vma, density: 1, hugeFraction: 0, rng: &rng)
        let c = mm.census()
        #expect(c.leaves == 2048)
        #expect(c.tables == 1 + 1 + 1 + 4)  // pgd, pud, pmd, four PTE tables
        #expect(c.mappedBytes == 8 << 20)
        let expectedSum = (0..<UInt64(2048)).reduce(UInt64(0)) { $0 + (vma.lowerBound >> 12) + $1 }
        #expect(c.frameSum == expectedSum)
        #expect(mm.pool.liveTables == 7)

        let retired = try mm.unmap(vma, protection: none, cpu: 0)
        #expect(retired == 6)
        #expect(mm.pool.liveTables == 1)
        #expect(mm.pool.tablesFreed == 6)
        #expect(mm.pool.tablesPending == 0)
        #expect(mm.census().leaves == 0)
    }

    @Test func partialUnmapKeepsTablesThatStillMapSomething() throws {
        let (mm, none, vma) = try Self.makeSpace(.x86_64_4level, bytes: 4 << 20)
        var rng = SplitMix64(seed: 2)
        try mm.populate(vma, density: 1, hugeFraction: 0, rng: &rng)
        let half = vma.lowerBound..<(vma.lowerBound + (1 << 20))
        #expect(try mm.unmap(half, protection: none, cpu: 0) == 0)
        #expect(mm.census().leaves == 1024 - 256)
        #expect(mm.pool.liveTables == 1 + 1 + 1 + 2)
        try mm.tearDown(protection: none, cpu: 0)
        #expect(mm.pool.liveTables == 1)
    }

    @Test func zapLeavesClearsPagesButKeepsEveryTable() throws {
        let (mm, none, vma) = try Self.makeSpace(.x86_64_4level, bytes: 4 << 20)
        var rng = SplitMix64(seed: 3)
        try mm.populate(vma, density: 1, hugeFraction: 0, rng: &rng)
        let tables = mm.pool.liveTables
        let first = vma.lowerBound..<(vma.lowerBound + (2 << 20))
        try mm.zapLeaves(first, protection: none, cpu: 0)
        #expect(mm.census(first).leaves == 0)
        #expect(mm.census().leaves == 512)
        #expect(mm.pool.liveTables == tables, "MADV_DONTNEED frees no table, even an emptied one")
        #expect(mm.pool.tablesFreed == 0)
        try mm.populate(first, density: 1, hugeFraction: 0, rng: &rng)
        #expect(mm.census().leaves == 1024)
        #expect(mm.pool.liveTables == tables, "faulting back in reuses the kept table")
        try mm.tearDown(protection: none, cpu: 0)
        #expect(mm.pool.liveTables == 1)
    }

    @Test func cpumaskSnapshotCanLeaveOutLazyCPUs() {
        let mask = CPUMask(), lazy = CPUMask()
        for cpu in [0, 3, 64, 130] { mask.set(cpu) }
        lazy.set(3)
        lazy.set(130)
        lazy.set(7)  // lazy but not in the mask: stays out
        #expect(mask.snapshot() == [0, 3, 64, 130])
        #expect(mask.split(by: lazy).outside == [0, 64])
        #expect(mask.split(by: lazy).inside == [3, 130])
    }

    @Test func sparsePopulateCreatesNoEmptyTables() throws {
        let (mm, none, vma) = try Self.makeSpace(.x86_64_4level, bytes: 64 << 20)
        var rng = SplitMix64(seed: 3)
        try mm.populate(vma, density: 0.001, hugeFraction: 0, rng: &rng)
        let c = mm.census()
        // Every PTE table that exists maps at least one page.
        #expect(c.tables - 3 <= c.leaves)
        try mm.tearDown(protection: none, cpu: 0)
        #expect(mm.pool.liveTables == 1)
    }

    @Test func hugeLeavesCollapseAndSplit() throws {
        let g = Geometry.x86_64_4level
        let (mm, none, vma) = try Self.makeSpace(g, bytes: 4 << 20)
        var rng = SplitMix64(seed: 4)
        try mm.populate(vma, density: 1, hugeFraction: 1, rng: &rng)
        var c = mm.census()
        #expect(c.hugeLeaves == 2 && c.leaves == 2 && c.tables == 3)
        let sum = c.frameSum

        #expect(try mm.split(at: vma.lowerBound, protection: none, cpu: 0))
        c = mm.census()
        #expect(c.hugeLeaves == 1 && c.leaves == 1 + 512 && c.tables == 4)
        #expect(c.mappedBytes == 4 << 20)

        #expect(try mm.collapse(at: vma.lowerBound, protection: none, cpu: 0))
        c = mm.census()
        #expect(c.hugeLeaves == 2 && c.tables == 3 && c.frameSum == sum)
        #expect(mm.pool.tablesFreed == 1)
        #expect(!(try mm.collapse(at: vma.lowerBound, protection: none, cpu: 0)))  // already huge
        try mm.tearDown(protection: none, cpu: 0)
        #expect(mm.pool.liveTables == 1)
    }

    @Test func unmappingPartOfAHugeLeafSplitsIt() throws {
        let (mm, none, vma) = try Self.makeSpace(.x86_64_4level, bytes: 2 << 20)
        var rng = SplitMix64(seed: 5)
        try mm.populate(vma, density: 1, hugeFraction: 1, rng: &rng)
        try mm.unmap(vma.lowerBound..<(vma.lowerBound + 4096), protection: none, cpu: 0)
        let c = mm.census()
        #expect(c.leaves == 511 && c.hugeLeaves == 0)
        try mm.tearDown(protection: none, cpu: 0)
        #expect(mm.pool.liveTables == 1)
    }

    @Test(arguments: Geometry.presets)
    func everyGeometryAccountsBackToTheRoot(_ g: Geometry) throws {
        let bytes = 4 * g.pteTableCoverage
        let (mm, none, vma) = try Self.makeSpace(g, bytes: bytes)
        var rng = SplitMix64(seed: 6)
        try mm.populate(vma, density: 0.5, hugeFraction: 0.5, rng: &rng)
        #expect(mm.census().leaves > 0)
        for _ in 0..<20 {
            let chunk = mm.randomChunk(&rng)
            try mm.unmap(chunk, protection: none, cpu: 0)
            try mm.populate(chunk, density: 0.5, hugeFraction: 0.5, rng: &rng)
        }
        try mm.tearDown(protection: none, cpu: 0)
        #expect(mm.pool.liveTables == 1)
        #expect(mm.census().tables == 1)
    }

    /// A sparse terabyte costs only the tables it uses: the pool is a NORESERVE reservation.
    @Test func sparseTerabyteFits() throws {
        let g = Geometry.x86_64_4level
        let tib: UInt64 = 1 << 40
        let (mm, none, vma) = try Self.makeSpace(g, bytes: tib)
        var rng = SplitMix64(seed: 8)
        for i in 0..<UInt64(64) {
            let start = vma.lowerBound + i * (tib / 64)
            try mm.populate(start..<(start + (2 << 20)), density: 1, hugeFraction: 0, rng: &rng)
        }
        let c = mm.census()
        #expect(c.leaves == 64 * 512)
        #expect(mm.pool.liveTables == c.tables)
        try mm.tearDown(protection: none, cpu: 0)
        #expect(mm.pool.liveTables == 1)
    }
}

/// tlb_finish_mmu after a munmap: tables retired → the freeing flush; only leaves cleared → a TLB-only
/// flush, which on x86 (irq-disable) is still a shootdown to the cpumask; nothing cleared → nothing.
@Suite(.serialized) struct UnmapFlushTests {
    /// CPU 1, a bound thread idling in the mm's cpumask, acking IPIs from its handler until stopped.
    static func withIdleCPU<P: WalkProtection, R>(_ irq: P, _ mm: AddressSpace, _ body: () throws -> R) throws -> R {
        let ready = Atomic<Bool>(false), stop = Atomic<Bool>(false)
        let t = try CPUThread {
            irq.cpuStarted(1)
            mm.cpumask.set(1)
            ready.store(true, ordering: .releasing)
            while !stop.load(ordering: .acquiring) { usleep(100) }
            mm.cpumask.clear(1)
            irq.cpuStopping(1)
        }
        while !ready.load(ordering: .acquiring) { usleep(100) }
        defer {
            stop.store(true, ordering: .releasing)
            t.join()
        }
        return try body()
    }

    @Test func aMunmapOfHugeLeavesOnlyStillShootsDownOnX86() throws {
        let g = Geometry.x86_64_4level
        let (mm, _, vma) = try AddressSpaceTests.makeSpace(g, bytes: 2 * g.pteTableCoverage)
        var rng = SplitMix64(seed: 5)
        try mm.populate(vma, density: 1, hugeFraction: 1, rng: &rng)
        #expect(mm.census().hugeLeaves == 2, "the range is mapped by huge leaves alone")
        let irq = try IrqDisableProtection(ProtectionContext(mm: mm, cpuCount: 3))
        irq.cpuStarted(0)
        defer { irq.cpuStopping(0) }
        mm.cpumask.set(0)
        try Self.withIdleCPU(irq, mm) {
            let freed = try mm.lock.withWriteLock { try mm.unmap(vma.lowerBound..<(vma.lowerBound + g.pteTableCoverage), protection: irq, cpu: 0) }
            #expect(freed == 0, "a huge leaf has no PTE table to free")
            #expect(irq.updaterCounters().ipisSent == 1, "the leaf-only munmap's shootdown reached CPU 1")
            // Unmapping what is already gone clears nothing and flushes nothing.
            _ = try mm.lock.withWriteLock { try mm.unmap(vma.lowerBound..<(vma.lowerBound + g.pteTableCoverage), protection: irq, cpu: 0) }
            #expect(irq.updaterCounters().ipisSent == 1)
        }
    }
}

import Glibc
import Synchronization
