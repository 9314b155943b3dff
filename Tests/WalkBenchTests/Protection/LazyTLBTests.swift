import CWalkSupport
import Glibc
import Synchronization
import Testing
@testable import WalkBench

/// Lazy TLB under irq-disable: whom each kind of flush interrupts, and what it costs under idle walkers.
@Suite(.serialized) struct LazyTLBTests {
    /// CPU 0 is a real thread in the mm's cpumask taking IPIs (lazy if asked); CPU 1, another thread,
    /// runs `flushes` as the writer. Returns the strategy's updater counters.
    static func flushes(lazyTLB: LazyTLB, cpu0Lazy: Bool, hugeFraction: Double = 0,
                        _ flushes: @escaping @Sendable (AddressSpace, IrqDisableProtection) throws -> Void) throws -> UpdaterCounters {
        let (mm, _, vma) = try AddressSpaceTests.makeSpace(.x86_64_4level, bytes: 8 << 20)
        var rng = SplitMix64(seed: 4)
        try mm.populate(vma, density: 1, hugeFraction: hugeFraction, rng: &rng)
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

    /// The writer operations that free nothing still shoot down TLBs under irq-disable (x86).
    @Test func flushesThatFreeNothingSendIPIs() throws {
        // thp-churn on an all-huge space: the chunk has no PTE table to collapse, so the operation splits.
        let split = try Self.flushes(lazyTLB: .off, cpu0Lazy: false, hugeFraction: 1) { mm, p in
            var rng = SplitMix64(seed: 5)
            try ThpChurn.writerOperation(mm: mm, workload: ThpChurn.preset, protection: p, cpu: 1, rng: &rng)
        }
        #expect(split.ipisSent == 1)
        let rewrite = try Self.flushes(lazyTLB: .off, cpu0Lazy: false) { mm, p in
            var rng = SplitMix64(seed: 6)
            try ReadMostly.writerOperation(mm: mm, workload: ReadMostly.preset, protection: p, cpu: 1, rng: &rng)
        }
        #expect(rewrite.ipisSent == 1)
        let zap = try Self.flushes(lazyTLB: .off, cpu0Lazy: false) { mm, p in
            try mm.zapLeaves(mm.vmas[0], protection: p, cpu: 1)
        }
        #expect(zap.ipisSent == 1)
    }

    /// A lazy CPU that takes a flush IPI leaves the mm (flush_tlb_func switches it to init_mm), so the
    /// next freeing flush needs no IPI; it is back in the cpumask, not lazy, before it walks again.
    @Test func aLazyCPUThatTakesAFlushLeavesTheMmAndRejoinsBeforeItWalks() throws {
        let (mm, _, vma) = try AddressSpaceTests.makeSpace(.x86_64_4level, bytes: 8 << 20)
        var rng = SplitMix64(seed: 7)
        try mm.populate(vma, density: 1, hugeFraction: 0, rng: &rng)
        let protection = try IrqDisableProtection(ProtectionContext(mm: mm, cpuCount: 2, options: ProtectionOptions(lazyTLB: .on)))
        let rejoined = Atomic<Bool>(false)
        let idler = try CPUThread {
            mm.switchIn(cpu: 0)
            protection.cpuStarted(0)
            IdlePolicy(nanoseconds: 1_000_000_000, lazy: true, cpumask: .clearedAtSwitch).run(cpu: 0, mm: mm)
            rejoined.store(mm.cpumask.contains(0) && !mm.lazyCPUs.contains(0), ordering: .relaxed)
            protection.cpuStopping(0)
            mm.cpumask.clear(0)
        }
        let log = Mutex<[String]>([])
        let writer = try CPUThread {
            mm.switchIn(cpu: 1)
            protection.cpuStarted(1)
            func waitFor(_ what: String, _ done: () -> Bool) {
                let until = TimeBase.monotonicNanoseconds() + 900_000_000
                while !done() && TimeBase.monotonicNanoseconds() < until { sched_yield() }
                if !done() { log.withLock { $0.append("timed out waiting for \(what)") } }
            }
            waitFor("CPU 0 to go lazy") { mm.lazyCPUs.contains(0) }
            let coverage = mm.geometry.pteTableCoverage
            do {
                _ = try mm.lock.withWriteLock {
                    try mm.unmap(vma.lowerBound..<(vma.lowerBound + coverage), protection: protection, cpu: 1)
                }
                let first = protection.updaterCounters()
                log.withLock { $0.append("first free: \(first.ipisSent!) sent, \(first.ipisSkippedLazy!) skipped") }
                waitFor("CPU 0 to leave the cpumask") { !mm.cpumask.contains(0) }
                _ = try mm.lock.withWriteLock {
                    try mm.unmap((vma.lowerBound + coverage)..<(vma.lowerBound + 2 * coverage), protection: protection, cpu: 1)
                }
                let second = protection.updaterCounters()
                log.withLock { $0.append("second free: \(second.ipisSent!) sent, \(second.ipisSkippedLazy!) skipped") }
            } catch {
                log.withLock { $0.append("writer failed: \(error)") }
            }
            protection.cpuStopping(1)
        }
        writer.join()
        idler.join()
        #expect(log.withLock { $0 } == ["first free: 1 sent, 0 skipped", "second free: 1 sent, 0 skipped"])
        let back = rejoined.load(ordering: .relaxed)
        #expect(back, "after idling CPU 0 is in the cpumask again and not lazy")
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
        let on = try StrategyTests.untilPressure(enough: { StrategyTests.pressured($0) && $0.contains { ($0.ipisSkippedLazy ?? 0) > 0 } }) { try run(.on) }
        let off = try StrategyTests.untilPressure(enough: StrategyTests.pressured) { try run(.off) }
        #expect(StrategyTests.pressured(on) && StrategyTests.pressured(off), "one zap in four frees its table")
        #expect((on + off).allSatisfy { $0.uafDetected == 0 })
        #expect(on.contains { ($0.ipisSkippedLazy ?? 0) > 0 }, "an idle walker is lazy most of the time: some zap must skip it")
        #expect(off.allSatisfy { $0.ipisSkippedLazy == nil })
    }
}

/// x86's lazy mm_cpumask (209954cbc7d0), irq-disable-rcu's policy: a lazy CPU that takes a freeing
/// flush switches to init_mm but keeps its bit; TLB-only flushes skip it until one trims the cpumask
/// (at most once per interval), and that flush's IPI takes the bit out.
@Suite(.serialized) struct LazyCPUMaskTests {
    /// CPU 0 idles lazily for up to 3 s; CPU 1 frees a table (CPU 0 takes the IPI and switches away),
    /// waits `pause`, then zaps leaves (a TLB-only flush). Returns what CPU 1 saw, in words.
    static func run(trimInterval: UInt64, pause: Double) throws -> [String] {
        let (mm, _, vma) = try AddressSpaceTests.makeSpace(.x86_64_4level, bytes: 8 << 20)
        var rng = SplitMix64(seed: 8)
        try mm.populate(vma, density: 1, hugeFraction: 0, rng: &rng)
        let options = ProtectionOptions(lazyTLB: .on, cpumaskTrimNanoseconds: trimInterval)
        let protection = try IrqDisableRcuFreeProtection(ProtectionContext(mm: mm, cpuCount: 2, options: options))
        let idler = try CPUThread {
            mm.switchIn(cpu: 0)
            protection.cpuStarted(0)
            protection.enterIdle(cpu: 0)  // as the runner does: idle is a quiescent state for the grace period
            IdlePolicy(nanoseconds: 3_000_000_000, lazy: true, cpumask: .clearedLazily).run(cpu: 0, mm: mm)
            protection.exitIdle(cpu: 0)
            protection.cpuStopping(0)
            mm.cpumask.clear(0)
        }
        let log = Mutex<[String]>([])
        let writer = try CPUThread {
            mm.switchIn(cpu: 1)
            protection.cpuStarted(1)
            func waitFor(_ what: String, _ done: () -> Bool) {
                let until = TimeBase.monotonicNanoseconds() + 2_500_000_000
                while !done() && TimeBase.monotonicNanoseconds() < until { sched_yield() }
                if !done() { log.withLock { $0.append("timed out waiting for \(what)") } }
            }
            waitFor("CPU 0 to go lazy") { mm.lazyCPUs.contains(0) }
            let coverage = mm.geometry.pteTableCoverage
            do {
                _ = try mm.lock.withWriteLock {
                    try mm.unmap(vma.lowerBound..<(vma.lowerBound + coverage), protection: protection, cpu: 1)
                }
                waitFor("CPU 0 to switch away") { mm.staleCPUs.contains(0) }
                log.withLock { $0.append("after the free: in the cpumask \(mm.cpumask.contains(0))") }
                Runner.sleep(seconds: pause)
                try mm.lock.withWriteLock {
                    try mm.zapLeaves((vma.lowerBound + coverage)..<(vma.lowerBound + 2 * coverage), protection: protection, cpu: 1)
                }
                let c = protection.updaterCounters()
                if c.ipisSent == 2 { waitFor("CPU 0 to leave the cpumask") { !mm.cpumask.contains(0) } }
                log.withLock {
                    $0.append("after the zap: \(c.ipisSent!) sent, \(c.ipisSkippedLazy!) skipped, \(c.cpumaskTrims!) trims, in the cpumask \(mm.cpumask.contains(0))")
                }
            } catch {
                log.withLock { $0.append("writer failed: \(error)") }
            }
            protection.cpuStopping(1)
        }
        writer.join()
        idler.join()
        protection.drain()
        return log.withLock { $0 }
    }

    @Test func aCPUThatSwitchedAwayKeepsItsBitAndIsSkippedUntilATrim() throws {
        #expect(try Self.run(trimInterval: 3_600_000_000_000, pause: 0) == [
            "after the free: in the cpumask true",
            "after the zap: 1 sent, 1 skipped, 0 trims, in the cpumask true",
        ])
    }

    @Test func aTrimmingFlushTakesTheBitOut() throws {
        #expect(try Self.run(trimInterval: 1_000_000, pause: 0.005) == [
            "after the free: in the cpumask true",
            "after the zap: 2 sent, 0 skipped, 1 trims, in the cpumask false",
        ])
    }
}
