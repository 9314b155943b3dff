import Glibc
import Synchronization
import Testing
@testable import WalkBench

/// The kernel-shaped iterator holds the PTE table's lock between its steps; writers take it in zap.
@Suite(.serialized) struct IteratorWalkerTests {
    /// Every strategy the PTE-lock rule allows: a walker stopped between two steps, holding the lock,
    /// while a writer unmaps its table, must let the writer finish once it moves on. The schedule is
    /// forced (the walker holds the lock until the writer has started), not left to luck.
    @Test(arguments: Strategies.all.filter { PTELockRule.refusal(walker: IteratorWalker.name, strategy: $0.name) == nil }.map(\.name))
    func aWalkerHoldingThePTELockCannotDeadlockAWriter(_ strategy: String) throws {
        let g = Geometry.x86_64_4level
        let (mm, _, vma) = try AddressSpaceTests.makeSpace(g, bytes: 2 * g.pteTableCoverage)
        var rng = SplitMix64(seed: 41)
        try mm.populate(vma, density: 1, hugeFraction: 0, rng: &rng)
        let leafTable = try #require(try mm.table(at: mm.lastLevel, for: vma.lowerBound, create: false))
        try Self.withStrategy(strategy, mm: mm) { p in
            let holding = Atomic<Bool>(false), writerStarted = Atomic<Bool>(false), writerDone = Atomic<Bool>(false)
            let walker = try CPUThread {
                p.cpuStarted(0)
                mm.cpumask.set(0)
                p.beginWalk(cpu: 0)
                var pvmw = MappedWalk(MappedWalk.Layout(memory: mm.pool.memory, locks: mm.pool.pteLocks, root: mm.root,
                                                        math: mm.math, pageShift: UInt64(g.pageShift)),
                                      from: vma.lowerBound, to: vma.upperBound)
                var window = OracleOffWindow()
                _ = pvmw.step(window: &window)  // the first pte: its table is locked now
                holding.store(true, ordering: .releasing)
                while !writerStarted.load(ordering: .acquiring) { usleep(100) }
                usleep(1000)  // give the writer time to reach the lock; correctness does not depend on it
                while pvmw.step(window: &window) != nil {}
                p.endWalk(cpu: 0)
                p.quiescent(cpu: 0)
                mm.cpumask.clear(0)
                p.cpuStopping(0)
            }
            while !holding.load(ordering: .acquiring) { usleep(100) }
            #expect(mm.pool.pteLocks.isLocked(leafTable), "the walker holds its table's lock between steps")
            let writer = try CPUThread {
                p.cpuStarted(1)
                mm.cpumask.set(1)
                writerStarted.store(true, ordering: .releasing)
                _ = try? mm.lock.withWriteLock { try mm.unmap(vma, protection: p, cpu: 1) }
                p.drain()
                mm.cpumask.clear(1)
                p.cpuStopping(1)
                writerDone.store(true, ordering: .releasing)
            }
            let until = TimeBase.monotonicNanoseconds() + 60_000_000_000
            while !writerDone.load(ordering: .acquiring) && TimeBase.monotonicNanoseconds() < until { usleep(1000) }
            let finished = writerDone.load(ordering: .acquiring)
            #expect(finished, "\(strategy): the writer did not finish in 60 s")
            walker.join()
            writer.join()
            #expect(!mm.pool.pteLocks.isLocked(leafTable))
            #expect(mm.census(vma).leaves == 0, "the range was unmapped")
        }
    }

    /// Builds the named strategy for 3 simulated CPUs and hands it over.
    static func withStrategy(_ name: String, mm: AddressSpace, _ body: (any WalkProtection) throws -> Void) throws {
        struct Build: StrategyVisitor {
            let name: String
            let mm: AddressSpace
            var made: (any WalkProtection)?
            var error: Error?
            mutating func visit<P: WalkProtection>(_ strategy: P.Type) {
                guard P.name == name else { return }
                do { made = try P(ProtectionContext(mm: mm, cpuCount: 3)) } catch { self.error = error }
            }
        }
        var b = Build(name: name, mm: mm)
        Strategies.forEach(&b)
        if let e = b.error { throw e }
        try body(try #require(b.made))
    }

    @Test func theRuleRefusesIRQOffStrategiesOnly() {
        #expect(PTELockRule.refusal(walker: "iterator", strategy: "irq-disable") != nil)
        #expect(PTELockRule.refusal(walker: "iterator", strategy: "rcu-memb-irq") != nil)
        #expect(PTELockRule.refusal(walker: "iterator", strategy: "ppc-5.8") != nil)
        #expect(PTELockRule.refusal(walker: "iterator", strategy: "rcu-memb") == nil)
        #expect(PTELockRule.refusal(walker: "iterator", strategy: "mmap-lock") == nil)
        #expect(PTELockRule.refusal(walker: "iterator-inline", strategy: "irq-disable") == nil, "it takes no lock")
        #expect(PTELockRule.refusal(walker: "lookup", strategy: "irq-disable") == nil, "gup_fast never takes it")
    }
}
