import Testing
@testable import WalkBench

/// The counter path end to end: the strategies' software-defined events read back through PAPI, perf
/// software events per thread, and PAPI hardware events either counted (PMU) or explained (no PMU).
/// SDE counts are process-wide and other suites run in this process at the same time, so these tests
/// check only what their pollution cannot fake (lower bounds); the exact checks run the binary in its
/// own process (BenchCLITests.softwareDefinedEventsAreExact).
@Suite(.serialized) struct CounterTests {
    func run(_ strategy: String, _ counters: [String], workload: Workload = UnmapStorm.preset) throws -> (RepetitionResult, CounterPlan) {
        let plan = try CounterPlan.parse(counters)
        let runner = Runner(timeBase: StrategyTests.runner.timeBase, counters: plan)
        let s = Scenario(geometry: .x86_64_4level, workload: workload, strategy: strategy, walker: LookupWalker.name,
                         readers: 1, writers: 1, timing: Timing(duration: 0.3, warmup: 0.02, repetitions: 1))
        return (try runner.run(s)[0], plan)
    }

    @Test func softwareDefinedEventsCountWhatTheStrategyDid() throws {
        let events = ["sde:::walkbench::ipis_sent", "sde:::walkbench::tables_freed", "sde:::walkbench::tables_retired"]
        let (m, plan) = try run(IrqDisableProtection.name, events)
        #expect(plan.notes.isEmpty, "SDE must work without a PMU: \(plan.notes)")
        let ipis = try #require(m.processCounters.value(events[0]))
        let freed = try #require(m.processCounters.value(events[1]))
        #expect(ipis > 0)
        // The SDE window brackets the measured phase, so it sees at least what the run counted itself.
        #expect(freed >= Double(m.tablesFreed))
        var row = ResultRow()
        row.setCounters(plan, m)
        #expect(Double(row.fields(plan.columns)[0])! > 0)  // sde___walkbench__ipis_sent_per_walk
    }

    @Test func walkerEventsReachTheSDECounters() throws {
        let (m, _) = try run(NoProtection.name, ["sde:::walkbench::uaf_detected"])
        // Walkers add their detections to the SDE counter at the end of each batch; their last batch can
        // end after the controller has read the counter, so the SDE count may trail the run's by one batch.
        let sde = try #require(m.processCounters.value("sde:::walkbench::uaf_detected"))
        if m.uafDetected >= 4 { #expect(sde >= 0.5 * Double(m.uafDetected)) }
    }

    @Test func perfSoftwareEventsCountPerThread() throws {
        let (m, plan) = try run(NoProtection.name, ["perf::task-clock", "perf::context-switches"])
        if plan.notes.isEmpty {
            let clock = try #require(m.readerCounters.value("perf::task-clock"))
            // A walker spins for the whole phase, but on a busy machine it may get little of it: the count
            // is plausible if it is positive and no more than the phase it was read around.
            #expect(clock > 0 && clock <= m.measuredSeconds * 1e9 * 1.1 + 0.05e9, "task-clock \(clock) ns in a \(m.measuredSeconds) s phase")
            #expect(m.writerCounters.value("perf::task-clock") ?? 0 > 0)
        } else {
            #expect(plan.notes[0].contains("perf_event_open"))
        }
    }

    @Test func hardwareEventsAreCountedOrExplained() throws {
        let (m, plan) = try run(NoProtection.name, ["PAPI_TOT_INS"], workload: ReadMostly.preset)
        if PAPILibrary.failure == nil && PAPILibrary.hasCPUPMU && plan.notes.isEmpty {
            #expect(m.readerCounters.value("PAPI_TOT_INS") ?? 0 > 0)
        } else {
            #expect(plan.notes.count == 1 && plan.notes[0].hasPrefix("PAPI_TOT_INS: "))
            #expect(m.readerCounters.value("PAPI_TOT_INS") == nil)
            var row = ResultRow()
            row.setCounters(plan, m)
            #expect(row.fields(["papi_tot_ins_per_walk", "counters_note"]) == ["", plan.notes[0]])
        }
    }

    @Test func unknownNamesAreRejected() {
        #expect(throws: CounterError.self) { try CounterPlan.parse(["perf::nope"]) }
        #expect(throws: CounterError.self) { try CounterPlan.parse(["sde:::walkbench::nope"]) }
        #expect(throws: CounterError.self) { try CounterPlan.parse(["PAPI_NOT_AN_EVENT"]) }
        do { _ = try CounterPlan.parse(["perf::nope"]) } catch { #expect("\(error)".contains("perf::nope")) }
    }

    @Test func columnNames() {
        #expect(CounterPlan.column("PAPI_TOT_INS") == "papi_tot_ins")
        #expect(CounterPlan.column("perf::task-clock") == "perf__task_clock")
        let plan = CounterPlan(events: ["PAPI_BR_MSP"], sources: [])
        #expect(plan.columns == ["papi_br_msp_per_walk", "papi_br_msp_per_op", "counters_note"])
    }
}
