import CWalkSupport
import Synchronization
import Testing
@testable import WalkBench

/// Lazy TLB under irq-disable: whom each kind of flush interrupts, and what it costs under idle walkers.
@Suite(.serialized) struct LazyTLBTests {
    /// CPU 0 is a real thread in the mm's cpumask taking IPIs (lazy if asked); CPU 1, another thread,
    /// runs `flushes` as the writer. Returns the strategy's updater counters.
    static func flushes(lazyTLB: LazyTLB, cpu0Lazy: Bool,
                        _ flushes: @escaping @Sendable (AddressSpace, IrqDisableProtection) throws -> Void) throws -> UpdaterCounters {
        let (mm, _, vma) = try AddressSpaceTests.makeSpace(.x86_64_4level, bytes: 8 << 20)
        var rng = SplitMix64(seed: 4)
        try mm.populate(vma, density: 1, hugeFraction: 0, rng: &rng)
        let protection = try IrqDisableProtection(ProtectionContext(mm: mm, cpuCount: 2, options: ProtectionOptions(lazyTLB: lazyTLB)))
        let ready = Atomic<Bool>(false), stop = Atomic<Bool>(false)
        let cpu0 = try CPUThread {
            mm.cpumask.set(0)
            if cpu0Lazy { mm.lazyCPUs.set(0) }
            protection.cpuStarted(0)
            ready.store(true, ordering: .releasing)
            while !stop.load(ordering: .acquiring) { wb_cpu_relax() }
            protection.cpuStopping(0)
            mm.cpumask.clear(0)
            mm.lazyCPUs.clear(0)
        }
        while !ready.load(ordering: .acquiring) { wb_cpu_relax() }
        let failure = Mutex<String?>(nil)
        let writer = try CPUThread {
            mm.cpumask.set(1)
            protection.cpuStarted(1)
            do { try mm.lock.withWriteLock { try flushes(mm, protection) } } catch { failure.withLock { $0 = "\(error)" } }
            protection.cpuStopping(1)
        }
        writer.join()
        stop.store(true, ordering: .releasing)
        cpu0.join()
        if let f = failure.withLock({ $0 }) { Issue.record("writer failed: \(f)") }
        return protection.updaterCounters()
    }

    struct NothingRetired: Error {}

    /// Frees the first chunk's PTE table (fails the writer, and so the test, if nothing was retired).
    static func unmapFirstChunk(_ mm: AddressSpace, _ p: IrqDisableProtection) throws {
        let chunk = mm.vmas[0].lowerBound..<(mm.vmas[0].lowerBound + mm.geometry.pteTableCoverage)
        guard try mm.unmap(chunk, protection: p, cpu: 1) > 0 else { throw NothingRetired() }
    }

    @Test func aFlushThatFreesNothingSkipsALazyCPUOnlyWithLazyTLBOn() throws {
        let on = try Self.flushes(lazyTLB: .on, cpu0Lazy: true) { _, p in p.flushTLBOnly(cpu: 1) }
        #expect(on.ipisSent == 0)
        #expect(on.ipisSkippedLazy == 1)
        let off = try Self.flushes(lazyTLB: .off, cpu0Lazy: true) { _, p in p.flushTLBOnly(cpu: 1) }
        #expect(off.ipisSent == 1)
        #expect(off.ipisSkippedLazy == nil)
        let active = try Self.flushes(lazyTLB: .on, cpu0Lazy: false) { _, p in p.flushTLBOnly(cpu: 1) }
        #expect(active.ipisSent == 1, "a CPU running the mm is never skipped")
        #expect(active.ipisSkippedLazy == 0)
    }

    @Test func aFlushThatFreesTablesReachesLazyCPUs() throws {
        let on = try Self.flushes(lazyTLB: .on, cpu0Lazy: true, Self.unmapFirstChunk)
        #expect(on.ipisSent == 1)
        #expect(on.ipisSkippedLazy == 0)
        // The broken variant bench validate uses: the free does not wait for the lazy CPU.
        let broken = try Self.flushes(lazyTLB: .skipEvenWhenFreeing, cpu0Lazy: true, Self.unmapFirstChunk)
        #expect(broken.ipisSent == 0)
        #expect(broken.ipisSkippedLazy == 1)
    }

    /// zap-churn's walkers idle after every batch: with lazy TLB on, some zaps find them lazy and skip
    /// them; with it off none can. Neither shows a use-after-free.
    @Test func idleWalkersAreSkippedOnlyWithLazyTLBOn() throws {
        func run(_ lazy: LazyTLB) throws -> RepetitionResult {
            var s = Scenario(geometry: .x86_64_4level, workload: ZapChurn.preset, strategy: IrqDisableProtection.name,
                             walker: LookupWalker.name, readers: 1, writers: 1,
                             timing: Timing(duration: 0.3, warmup: 0, repetitions: 1))
            s.protectionOptions.lazyTLB = lazy
            return try StrategyTests.runner.run(s)[0]
        }
        let on = try run(.on), off = try run(.off)
        #expect(on.writerOps > 0 && off.writerOps > 0)
        #expect(on.tablesFreed > 0 && off.tablesFreed > 0, "one zap in four frees its table")
        #expect(on.uafDetected == 0 && off.uafDetected == 0)
        #expect((on.ipisSkippedLazy ?? 0) > 0, "an idle walker is lazy most of the time: some zap must skip it")
        #expect(off.ipisSkippedLazy == nil)
    }
}
