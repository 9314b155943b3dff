import Testing
@testable import WalkBench

/// The RCU table-free strategies: safe under writers, grace periods measured, batches of 509, and the
/// tlb_remove_table_one fallback unsafe for rcu_read_lock-only walkers but safe for IRQ-off ones.
@Suite(.serialized) struct RcuTests {
    static let strategies = [RcuMembProtection.name, RcuQsbrProtection.name, RcuMembIrqProtection.name]

    static func run(_ strategy: String, workload: Workload, readers: Int = 2, writers: Int = 1, seconds: Double = 0.3,
                    batchFailRate: Double = 0, windowDelayNanoseconds: UInt64 = 0) throws -> RepetitionResult {
        var s = Scenario(geometry: .x86_64_4level, workload: workload, strategy: strategy, walker: LookupWalker.name,
                         readers: readers, writers: writers, timing: Timing(duration: seconds, warmup: 0, repetitions: 1))
        s.protectionOptions = ProtectionOptions(batchFailRate: batchFailRate)
        s.windowDelayNanoseconds = windowDelayNanoseconds
        return try StrategyTests.runner.run(s)[0]
    }

    @Test func registeredAndPromiseSafety() {
        for name in Self.strategies {
            let info = Strategies.all.first { $0.name == name }
            #expect(info?.guaranteesSafety == true, "\(name)")
            #expect(info?.validationOnly == false, "\(name)")
        }
    }

    @Test(arguments: strategies, [UnmapStorm.preset, ThpChurn.preset])
    func safeUnderWritersWithGracePeriods(_ strategy: String, _ workload: Workload) throws {
        let enough: ([RepetitionResult]) -> Bool = { all in
            StrategyTests.pressured(all) && all.contains { ($0.gracePeriods?.totalCount ?? 0) > 0 }
        }
        let all = try StrategyTests.untilPressure(enough: enough) { try Self.run(strategy, workload: workload) }
        #expect(enough(all), "the workload must walk, free tables and run call_rcu callbacks for the check to mean anything")
        #expect(all.reduce(0) { $0 + $1.uafDetected } == 0)
        #expect(all.allSatisfy { $0.ipisSent == 0 }, "no batch failed, so no sync IPI")
    }

    /// Every batch fails to allocate: each table is freed right after a sync IPI, which an
    /// rcu_read_lock-only walker acks from its handler mid-walk. Forced, so it is caught every time.
    @Test func fallbackIsUnsafeForRcuReadLockOnlyWalkers() throws {
        for name in ["rcu-memb fallback", "rcu-qsbr fallback"] {
            let o = try ForcedSchedule.run(try #require(ForcedSchedule.cases.first { $0.name == name }))
            #expect(o.freedAt == .leafPointerLoaded, "\(name): \(o.verdict)")
            #expect(o.useAfterFree, "\(name): the oracle must catch the immediate free after the sync IPI")
        }
    }

    /// THP collapse frees through pte_free_defer, its own call_rcu that cannot fail: with every batch
    /// allocation failing, rcu_read_lock-only walkers are still safe against collapse, and no sync IPI
    /// is ever sent (the kernel cannot have the use-after-free the fallback would give).
    @Test func collapseNeverMeetsTheFallback() throws {
        var churn = ThpChurn.preset
        churn.writerDelayNanoseconds = 0
        let enough: ([RepetitionResult]) -> Bool = { all in
            StrategyTests.pressured(all) && all.contains { ($0.gracePeriods?.totalCount ?? 0) > 0 }
        }
        let all = try StrategyTests.untilPressure(enough: enough) {
            try Self.run(RcuMembProtection.name, workload: churn, readers: 1, batchFailRate: 1, windowDelayNanoseconds: 5000)
        }
        #expect(enough(all))
        #expect(all.reduce(0) { $0 + $1.uafDetected } == 0)
        #expect(all.allSatisfy { $0.ipisSent == 0 }, "collapse must not take the sync-IPI fallback")
    }

    /// The same fallback with IRQ-off walkers: the IPI's ack waits for the walk, so the free is safe,
    /// forced (the walker stopped inside its window) and under real threads until tables were freed.
    @Test func fallbackIsSafeForIrqOffWalkers() throws {
        let o = try ForcedSchedule.run(try #require(ForcedSchedule.cases.first { $0.name == "rcu-memb-irq fallback" }))
        #expect(o.matches, "\(o.verdict)")
        #expect(o.heldBack.allSatisfy { $0.witness.contains("IPI") }, "the sync IPI, not a grace period, must hold the free")
        var fast = UnmapStorm.preset
        fast.writerDelayNanoseconds = 0
        let all = try StrategyTests.untilPressure(enough: StrategyTests.pressured) {
            try Self.run(RcuMembIrqProtection.name, workload: fast, readers: 1, batchFailRate: 1)
        }
        #expect(StrategyTests.pressured(all))
        #expect(all.reduce(0) { $0 + $1.uafDetected } == 0)
        #expect(all.reduce(0) { $0 + ($1.ipisSent ?? 0) } > 0, "every free must have gone through the sync IPI")
        #expect(all.allSatisfy { $0.gracePeriods?.totalCount == 0 }, "no batch was ever allocated, so nothing went through call_rcu")
    }

    /// tlb_remove_table's batching, driven directly: 1000 tables are one full batch of 509 (submitted
    /// at once) plus 491 submitted by the flush; drain frees everything.
    @Test(arguments: strategies)
    func batchesOf509(_ strategy: String) throws {
        struct Make: StrategyVisitor {
            let name: String
            let context: ProtectionContext
            var protection: (any WalkProtection)?
            mutating func visit<P: WalkProtection>(_ strategy: P.Type) {
                if P.name == name { protection = try! P(context) }
            }
        }
        let mm = try AddressSpace(geometry: .x86_64_4level, mappedBytes: 64 << 20)
        var make = Make(name: strategy, context: ProtectionContext(mm: mm, cpuCount: 1))
        Strategies.forEach(&make)
        let p = try #require(make.protection)
        let tables = try (0..<1000).map { _ in try mm.pool.allocate() }
        p.cpuStarted(0)
        for t in tables {
            mm.pool.noteRetired(t, bytes: 4096)
            p.retire(t, cpu: 0)
        }
        #expect(mm.pool.tablesFreed <= 509, "only the full batch can have been submitted before the flush")
        p.flush(cpu: 0)
        p.drain()
        p.cpuStopping(0)
        #expect(mm.pool.tablesFreed == 1000)
        #expect(mm.pool.tablesPending == 0)
        #expect(p.updaterCounters().gracePeriods?.totalCount == 2, "one full batch of 509, one of 491")
    }
}
