import Testing
@testable import WalkBench

/// The forced schedules: each case reaches its expected verdict every time, by construction rather
/// than by luck, and says why.
@Suite(.serialized) struct ForcedScheduleTests {
    @Test(arguments: ForcedSchedule.cases.map(\.name))
    func caseReachesItsVerdict(_ name: String) throws {
        let c = try #require(ForcedSchedule.cases.first { $0.name == name })
        // Under ASan with freed tables poisoned, a broken case's planted read would abort the process:
        // those runs check the safe cases only (scripts/sanitize), the oracle's runs check the rest.
        if c.expected == .unsafe && TablePool.poisonsFreedTablesForASan { return }
        let o = try ForcedSchedule.run(c)
        #expect(o.failure == nil, "\(o.failure ?? "")")
        #expect(o.matches, "\(name): \(o.verdict); schedule: \(o.schedule.joined(separator: "; "))")
        if c.pageWalker != nil {
            // A page case: held back at leaf-read, or the page was freed there and the walker retried.
            switch c.expected {
            case .safe:
                #expect(!o.useAfterFree)
                #expect(o.heldBack.map(\.point) == [.leafRead] || (o.freedAt == .leafRead && o.walkerRetried), "\(o.verdict)")
            case .unsafe:
                #expect(o.useAfterFree && o.freedAt == .leafRead, "the page oracle must report the reused page handed over")
            }
            return
        }
        switch c.expected {
        case .safe:
            // The witness, not the absence of a free, is what makes the verdict: one per stop.
            #expect(o.heldBack.map(\.point) == ProtocolPoint.walkerStops)
            #expect(o.freedInTheEnd, "the free must complete once the walker is done")
        case .unsafe:
            #expect(o.useAfterFree, "the oracle must report the walk that read the freed table")
            #expect(o.reproducer.contains("--case '\(name)'"))
        }
    }

    /// Which way each strategy keeps the page safe is part of what it is: IPI and count strategies
    /// hold the collapse back, RCU ones let it free the page and rely on gup_fast's re-check.
    @Test func pageCasesShowTheirMechanism() throws {
        for name in ["irq-disable page", "rcu-memb page"] {
            let o = try ForcedSchedule.run(try #require(ForcedSchedule.cases.first { $0.name == name }))
            if name.hasPrefix("irq") { #expect(o.heldBack.count == 1 && o.freedAt == nil) } else { #expect(o.freedAt == .leafRead && o.walkerRetried) }
        }
    }

    @Test func everySafeStrategyHasACase() {
        let covered = Set(ForcedSchedule.cases.filter { $0.expected == .safe }.map(\.strategy))
        for s in Strategies.all where s.guaranteesSafety && !s.validationOnly { #expect(covered.contains(s.name), "\(s.name)") }
        for s in Strategies.all where s.validationOnly {
            #expect(ForcedSchedule.cases.contains { $0.strategy == s.name && $0.expected == .unsafe }, "\(s.name)")
        }
    }
}
