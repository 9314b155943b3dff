#if canImport(Glibc)
import Glibc
#endif
import CWalkSupport
import Histogram

/// Runs scenarios: builds the address space, starts one thread per simulated CPU, measures, tears down.
///
/// The strategy and walker names are turned into concrete types once, through the registries'
/// visitors, so `readerLoop` is specialised for each (strategy, walker, oracle) and the walk itself
/// contains no dynamic dispatch.
public struct Runner: Sendable {
    public let timeBase: TimeBase
    /// Counters read around each repetition's measured region (never inside the timed batches).
    public let counters: CounterPlan

    public init(timeBase: TimeBase, counters: CounterPlan = .none) {
        self.timeBase = timeBase
        self.counters = counters
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Address where the workload's VMA starts: an eighth of the way into the address space, aligned
    /// to a PTE table's reach.
    public static func vmaBase(_ geometry: Geometry) -> UInt64 {
        let base = geometry.addressSpaceSize / 8
        return base & ~(geometry.pteTableCoverage - 1)
    }

    /// The VMA a workload maps under a geometry, or why it does not fit.
    public static func vma(for workload: Workload, geometry: Geometry) -> Result<Range<UInt64>, Failure> {
        let chunk = geometry.pteTableCoverage
        let pteOrder = geometry.levels[geometry.levels.count - 1].bits
        guard workload.pteFolioOrder < pteOrder else {
            return .failure(Failure(description: "workload \(workload.name): pte_folio_order \(workload.pteFolioOrder) does not fit the \(1 << pteOrder)-entry PTE tables of \(geometry.name); use less than \(pteOrder)"))
        }
        let bytes = max(chunk, (workload.mappedBytes + chunk - 1) / chunk * chunk)
        let base = vmaBase(geometry)
        guard bytes <= geometry.addressSpaceSize - base else {
            return .failure(Failure(description: "workload \(workload.name): \(bytes) bytes do not fit the \(geometry.addressBits)-bit address space of \(geometry.name)"))
        }
        return .success(base..<(base + bytes))
    }

    /// Runs every repetition of `scenario` (or only those in `repetitions`, on one address space, when
    /// the caller interleaves repetitions of many scenarios); `progress` is called before each.
    public func run(_ scenario: Scenario, repetitions: ClosedRange<Int>? = nil,
                    progress: @escaping (Int) -> Void = { _ in }) throws -> [RepetitionResult] {
        if let why = PTELockRule.refusal(walker: scenario.walker, strategy: scenario.strategy) {
            throw Failure(description: "\(scenario.label): \(why)")
        }
        return try scenario.withConcreteTypes(Repetitions(runner: self, numbers: repetitions ?? 1...scenario.timing.repetitions,
                                                   progress: progress))
    }

    private struct Repetitions: ScenarioBody {
        let runner: Runner
        let numbers: ClosedRange<Int>
        let progress: (Int) -> Void
        func run<P: WalkProtection, W: PageWalker, L: OracleLog>(
            _ scenario: Scenario, _: P.Type, _: W.Type, _: L.Type
        ) throws -> [RepetitionResult] {
            try runner.runSpecialised(scenario, P.self, W.self, L.self, repetitions: numbers, progress: progress)
        }
    }

    /// The scenario's address space, mapped and populated from its seed as every run of it is.
    static func buildAddressSpace(_ scenario: Scenario, clock: TimeBase?) throws -> AddressSpace {
        let vma = try vma(for: scenario.workload, geometry: scenario.geometry).get()
        let mm = try AddressSpace(geometry: scenario.geometry, mappedBytes: vma.upperBound - vma.lowerBound, clock: clock)
        mm.addVMA(vma)
        mm.pteFolioOrder = scenario.workload.pteFolioOrder
        var rng = SplitMix64(seed: scenario.seed)
        try mm.lock.withWriteLock {
            try mm.populate(vma, density: scenario.workload.density, hugeFraction: scenario.workload.hugeFraction, rng: &rng)
        }
        return mm
    }

    func runSpecialised<P: WalkProtection, W: PageWalker, L: OracleLog>(
        _ scenario: Scenario, _: P.Type, _: W.Type, _: L.Type, repetitions: ClosedRange<Int>,
        progress: (Int) -> Void
    ) throws -> [RepetitionResult] {
        let mm = try Self.buildAddressSpace(scenario, clock: timeBase)
        mm.reclaimsEmptyPTETables = scenario.protectionOptions.ptReclaim && scenario.batchFailRateApplies
        // Walkers are CPUs 0..<readers; with the oracle on each raises its flag while a walk is open.
        if scenario.oracle { mm.pool.watchedCPUs.store(scenario.readers, ordering: .relaxed) }
        // One CPU more than the threads: the controller's, for tear-down.
        let protection = try P(ProtectionContext(mm: mm, cpuCount: scenario.readers + scenario.writers + 1,
                                                 options: scenario.protectionOptions, timeBase: timeBase))
        var results: [RepetitionResult] = []
        for repetition in repetitions {
            progress(repetition)
            results.append(try repetitionRun(scenario, repetition: repetition, mm: mm, protection: protection,
                                             W.self, L.self))
        }
        // Tear-down doubles as a check of the writer-side bookkeeping: only the root may be left.
        let tearDownCPU = scenario.readers + scenario.writers
        protection.cpuStarted(tearDownCPU)
        try mm.tearDown(protection: protection, cpu: tearDownCPU)
        protection.cpuStopping(tearDownCPU)
        guard mm.pool.liveTables == 1 else {
            throw Failure(description: "\(scenario.label): \(mm.pool.liveTables - 1) tables still live after tear-down (leak)")
        }
        return results
    }

    private func repetitionRun<P: WalkProtection, W: PageWalker, L: OracleLog>(
        _ scenario: Scenario, repetition: Int, mm: AddressSpace, protection: P, _: W.Type, _: L.Type
    ) throws -> RepetitionResult {
        let readers = scenario.readers, writers = scenario.writers
        let control = RunControl(parties: readers + writers + 1)
        let readerSlots = Slots<ReaderTally>(readers)
        let writerSlots = Slots<WriterTally>(writers)
        let pinNotes = Slots<String>(readers + writers)
        let realCPUs = CPUThread.allowedCPUs
        let timeBase = self.timeBase
        let timing = scenario.timing
        let options = scenario.walkOptions
        let workload = scenario.workload
        let seedBase = scenario.seed &+ UInt64(repetition) &* 0x1_0000
        let delayTicks = UInt64(Double(scenario.windowDelayNanoseconds) * timeBase.ticksPerNanosecond)
        let counters = self.counters
        let foreign = scenario.foreignWalkers
        let lazyWalkers = scenario.lazyWalkers
        // Idle walkers enter lazy TLB mode only where the strategy's flushes look at it.
        let idle = IdlePolicy(nanoseconds: workload.readerIdleNanoseconds,
                              lazy: P.sendsTLBShootdowns && scenario.protectionOptions.lazyTLB != .off && !foreign,
                              cpumask: P.cpumaskPolicy)

        var threads: [CPUThread] = []
        for cpu in 0..<(readers + writers) {
            let realCPU = realCPUs[cpu % realCPUs.count]
            threads.append(try CPUThread {
                if let why = CPUThread.pinCurrent(to: realCPU) { pinNotes[cpu] = why }
                // switch_mm: this CPU now runs the mm (a foreign walker runs another one).
                if cpu >= readers || !foreign { mm.cpumask.set(cpu) }
                if cpu < readers && lazyWalkers { mm.lazyCPUs.set(cpu) }
                protection.cpuStarted(cpu)
                if cpu < readers {
                    readerSlots[cpu] = Self.readerLoop(cpu: cpu, protection: protection, walker: W.self, oracle: L.self,
                                                       mm: mm, options: options, control: control, timeBase: timeBase,
                                                       batch: timing.batch, delayTicks: delayTicks, idle: idle,
                                                       counters: counters, seed: seedBase &+ UInt64(cpu))
                } else {
                    writerSlots[cpu - readers] = Self.writerLoop(cpu: cpu, protection: protection, workload: workload, mm: mm,
                                                                 control: control, timeBase: timeBase, counters: counters,
                                                                 seed: seedBase &+ UInt64(cpu))
                }
                control.finishAndWait(cpu: cpu)
                mm.cpumask.clear(cpu)  // the thread goes away: it runs nothing any more
                mm.lazyCPUs.clear(cpu)
                mm.staleCPUs.clear(cpu)
                protection.cpuStopping(cpu)
            })
        }
        control.arriveAndWait()
        Self.sleep(seconds: timing.warmup)
        mm.pool.resetMeasurement()
        protection.resetUpdaterCounters()
        // Process-wide counters bracket the pool's own count of the phase.
        var processSessions = counters.openProcess()
        defer { for s in processSessions { s.close() } }
        for i in processSessions.indices { processSessions[i].start() }
        let freedBefore = mm.pool.tablesFreed
        let freedDuringWalksBefore = mm.pool.tablesFreedDuringWalks
        let refusedBefore = mm.collapsesRefused
        let loadBefore = HostLoad.now()
        let start = TimeBase.monotonicNanoseconds()
        control.set(.measure)
        Self.sleep(seconds: timing.duration)
        control.set(.stop)
        let end = TimeBase.monotonicNanoseconds()
        let disturbance = loadBefore.flatMap { b in HostLoad.now()?.since(b) }
        let freedInPhase = mm.pool.tablesFreed - freedBefore
        let freedDuringWalks = mm.pool.tablesFreedDuringWalks - freedDuringWalksBefore
        let refusedInPhase = mm.collapsesRefused - refusedBefore
        let pendingPeak = mm.pool.tablesPendingPeak
        for i in processSessions.indices { processSessions[i].stop() }
        let updater = protection.updaterCounters()
        let writerWaits = mm.pool.writerWaits
        let bytesPendingPeak = mm.pool.bytesPendingPeak
        let stuck = control.awaitFinish(cpus: readers + writers, seconds: Self.watchdogSeconds)
        guard stuck.isEmpty else {
            // The threads cannot be joined; they are left behind and the scenario fails with their state.
            let states = stuck.map { "CPU \($0) (\($0 < readers ? "walker" : "writer"))" + (protection.waitDescription(cpu: $0).map { ": \($0)" } ?? "") }
            throw Failure(description: "\(scenario.label): watchdog: still running \(Int(Self.watchdogSeconds)) s after stop: " + states.joined(separator: "; "))
        }
        for t in threads { t.join() }

        var m = RepetitionResult(repetition: repetition)
        m.measuredSeconds = Double(end - start) / 1e9
        m.disturbance = disturbance
        m.tablesFreed = freedInPhase
        m.tablesFreedDuringWalks = scenario.oracle ? freedDuringWalks : nil
        m.collapsesRefused = refusedInPhase
        m.tablesPendingPeak = pendingPeak
        m.bytesPendingPeak = bytesPendingPeak
        m.writerWait = writerWaits
        m.ipisSent = updater.ipisSent
        m.ipisSkippedLazy = updater.ipisSkippedLazy
        m.cpumaskTrims = updater.cpumaskTrims
        m.gracePeriods = updater.gracePeriods
        m.processCounters.add(processSessions, events: counters.processEvents)
        for i in 0..<readers { m.absorb(readerSlots[i]!) }
        for i in 0..<writers {
            let t = writerSlots[i]!
            if let error = t.error { throw Failure(description: "\(scenario.label): writer on CPU \(readers + i): \(error)") }
            m.absorb(t)
        }
        let notes = (0..<(readers + writers)).compactMap { pinNotes[$0] }
        let threadCount = readers + writers
        if let first = notes.first {
            m.pinning = "unpinned: \(first)"
        } else {
            m.pinning = threadCount > realCPUs.count ? "pinned, \(threadCount) threads on \(realCPUs.count) cpus" : "pinned"
        }
        return m
    }

    // MARK: The hot path

    static func readerLoop<P: WalkProtection, W: PageWalker, L: OracleLog>(
        cpu: Int, protection: P, walker _: W.Type, oracle _: L.Type, mm: AddressSpace, options: WalkOptions,
        control: RunControl, timeBase: TimeBase, batch: Int, delayTicks: UInt64, idle: IdlePolicy,
        counters: CounterPlan, seed: UInt64
    ) -> ReaderTally {
        var sessions = counters.openThread()
        defer { for s in sessions { s.close() } }
        var loop = WalkLoop<P, W, L>(protection: protection, cpu: cpu, mm: mm, options: options,
                                     delayTicks: delayTicks, timeBase: timeBase, seed: seed)
        loop.window.log.watch(cpu: cpu)
        defer { loop.window.log.release() }
        let overhead = timeBase.overheadTicks
        var tally = ReaderTally()
        var measuring = false

        control.arriveAndWait()
        while true {
            let phase = control.phase
            if phase == .stop { break }
            if phase == .measure && !measuring {
                measuring = true
                tally = ReaderTally()
                loop.resetCounts()
                for i in sessions.indices { sessions[i].start() }
            }
            let uafBefore = loop.uaf, retriesBefore = loop.retries
            let leavesBefore = loop.leaves
            let t0 = timeBase.now()
            loop.walkBatch(batch)
            let t1 = timeBase.now()
            let batchLeaves = loop.leaves &- leavesBefore
            protection.quiescent(cpu: cpu)
            // One walk timed alone, outside the batch, for the latency distribution.
            let s0 = timeBase.nowOrdered()
            loop.walkOnce()
            let s1 = timeBase.nowOrdered()
            if measuring {
                tally.walks &+= UInt64(batch)
                tally.leaves &+= batchLeaves
                // The software-defined events, once per batch and only when something happened.
                if loop.uaf != uafBefore { wb_event_add(WB_EVENT_UAF_DETECTED, Int64(loop.uaf &- uafBefore)) }
                if loop.retries != retriesBefore { wb_event_add(WB_EVENT_WALKER_RETRIES, Int64(loop.retries &- retriesBefore)) }
                tally.ticks &+= t1 &- t0
                let sample = s1 &- s0
                _ = tally.latency.record(sample > overhead ? sample - overhead : 0)
            }
            if idle.nanoseconds > 0 {
                protection.enterIdle(cpu: cpu)
                idle.run(cpu: cpu, mm: mm)
                protection.exitIdle(cpu: cpu)
            }
        }
        if measuring { for i in sessions.indices { sessions[i].stop() } }
        tally.counters.add(sessions, events: counters.threadEvents)
        tally.uaf = loop.uaf
        tally.pageUAF = loop.pageUAF
        tally.retries = loop.retries
        wb_consume(loop.checksum)
        return tally
    }

    static func writerLoop<P: WalkProtection>(
        cpu: Int, protection: P, workload: Workload, mm: AddressSpace, control: RunControl, timeBase: TimeBase,
        counters: CounterPlan, seed: UInt64
    ) -> WriterTally {
        var sessions = counters.openThread()
        defer { for s in sessions { s.close() } }
        var rng = SplitMix64(seed: seed)
        var tally = WriterTally()
        let kind = workload.kindType
        let delayTicks = UInt64(Double(workload.writerDelayNanoseconds) * timeBase.ticksPerNanosecond)
        var measuring = false
        control.arriveAndWait()
        while true {
            let phase = control.phase
            if phase == .stop { break }
            if phase == .measure && !measuring {
                measuring = true
                tally = WriterTally()
                for i in sessions.indices { sessions[i].start() }
            }
            let t0 = timeBase.nowOrdered()
            do {
                try mm.lock.withWriteLock {
                    try kind.writerOperation(mm: mm, workload: workload, protection: protection, cpu: cpu, rng: &rng)
                }
            } catch {
                tally.error = "\(error)"
                control.set(.stop)
                break
            }
            let t1 = timeBase.nowOrdered()
            if measuring {
                tally.ops &+= 1
                _ = tally.latency.record(t1 &- t0)
            }
            if delayTicks > 0 {
                let until = timeBase.now() &+ delayTicks
                while timeBase.now() < until { wb_cpu_relax() }
            }
        }
        if measuring { for i in sessions.indices { sessions[i].stop() } }
        tally.counters.add(sessions, events: counters.threadEvents)
        return tally
    }

    /// How long after stop a thread may take to finish before the run fails naming it.
    public static let watchdogSeconds = 20.0

    static func sleep(seconds: Double) {
        guard seconds > 0 else { return }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}

/// What a walker's CPU does between batches when the workload makes it idle.
struct IdlePolicy: Sendable {
    /// Idle time after each batch; 0: never idle.
    let nanoseconds: UInt64
    /// Lazy TLB mode while idle (x86's enter_lazy_tlb); otherwise the CPU stays a full member of the
    /// cpumask and every shootdown wakes it.
    let lazy: Bool
    /// What leaving the mm does to the CPU's cpumask bit.
    let cpumask: CPUMaskPolicy

    /// Runs the idle task on `cpu` (interrupts enabled) until the idle time has passed. A lazy CPU
    /// that takes a flush IPI switches to init_mm, as flush_tlb_func does. Under clearedAtSwitch that
    /// takes its bit out of the cpumask at once; under clearedLazily the bit stays (the CPU is "stale":
    /// skipped by TLB-only flushes) until a further flush IPI finds the mm not loaded. It rejoins the
    /// mm before its next walk. (The local flush the kernel owes on return for skipped flushes costs
    /// nothing here: there is no TLB.) Never inlined: the idle path stays out of the specialised walk loops.
    @inline(never)
    func run(cpu: Int, mm: AddressSpace) {
        if lazy { mm.lazyCPUs.set(cpu) }
        // Counted from after the lazy mark: an IPI handled since then found this CPU lazy.
        var ipisSeen = wb_ipi_taken_here()
        var loaded = true
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let total = deadline.tv_nsec + Int(nanoseconds % 1_000_000_000)
        deadline.tv_sec += Int(nanoseconds / 1_000_000_000) + total / 1_000_000_000
        deadline.tv_nsec = total % 1_000_000_000
        while true {
            if lazy && wb_ipi_taken_here() != ipisSeen {
                ipisSeen = wb_ipi_taken_here()
                if loaded {
                    // switch_mm_irqs_off(NULL, &init_mm): no longer lazy in this mm.
                    mm.lazyCPUs.clear(cpu)
                    if cpumask == .clearedLazily { mm.staleCPUs.set(cpu) } else { mm.cpumask.clear(cpu) }
                    loaded = false
                } else if cpumask == .clearedLazily && mm.staleCPUs.contains(cpu) {
                    // A later flush found the mm not loaded here: the bit goes now.
                    mm.cpumask.clear(cpu)
                    mm.staleCPUs.clear(cpu)
                }
            }
            // An IPI (the only signal a CPU thread takes) ends the sleep early; its handler has acked it.
            if clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nil) != EINTR { break }
        }
        guard lazy else { return }
        if loaded {
            mm.lazyCPUs.clear(cpu)
        } else {
            mm.staleCPUs.clear(cpu)
            mm.switchIn(cpu: cpu)
        }
    }
}

/// A walker thread's per-walk state, as one struct: `walkOnce` mutates it through `self`, which the
/// compiler checks statically. (A nested function or closure capturing these as local variables made
/// the compiler check exclusive access at run time, twice per walk.)
struct WalkLoop<P: WalkProtection, W: PageWalker, L: OracleLog> {
    var walker: W
    var window: Window<P, L>
    var rng: SplitMix64
    let vmaStart: UInt64
    let spanStarts: UInt64
    let pageMask: UInt64
    let extraWork: UInt64
    var checksum: UInt64 = 0
    var uaf: UInt64 = 0
    var pageUAF: UInt64 = 0
    var retries: UInt64 = 0
    var leaves: UInt64 = 0

    /// A walker of `mm` on `cpu`, starting its walks at random pages from which the whole span stays
    /// inside the first VMA. The caller releases `window.log` when done.
    init(protection: P, cpu: Int, mm: AddressSpace, options: WalkOptions, delayTicks: UInt64, timeBase: TimeBase, seed: UInt64) {
        walker = W(mm: mm, options: options)
        window = Window(protection: protection, cpu: cpu, log: L(pool: mm.pool, capacity: walker.oracleCapacity),
                        delayTicks: delayTicks, timeBase: timeBase)
        rng = SplitMix64(seed: seed)
        let vma = mm.vmas[0]
        let size = vma.upperBound - vma.lowerBound
        vmaStart = vma.lowerBound
        spanStarts = size > options.span ? size - options.span + 1 : 1
        pageMask = ~(mm.geometry.pageSize - 1)
        extraWork = options.extraWork
    }

    mutating func resetCounts() {
        uaf = 0
        pageUAF = 0
        retries = 0
        leaves = 0
    }

    /// `count` walks back to back: the timed loop of `bench run`'s batch, of `WalkSession` (the
    /// package-benchmark suite) and of the callgrind child. Never inlined, so the three run one compiled
    /// copy per strategy × walker × oracle mode, the same bytes at the same offsets: a loop inlined into
    /// each caller is laid out afresh in each (README, "Do the two tools agree?"). One call per batch.
    @inline(never)
    mutating func walkBatch(_ count: Int) {
        for _ in 0..<count { walkOnce() }
    }

    /// One walk inside the strategy's window; the oracle check runs before the window closes.
    @inline(__always)
    mutating func walkOnce() {
        let address = vmaStart &+ (rng.below(spanStarts) & pageMask)
        let cpu = window.cpu
        // `window.protection` is read at each use, not held in a local across the walk: a walker that
        // is not inlined (callback's recursive walkTable) takes the window inout, so a local copy of the
        // reference would have to be retained before the walk and released after it, every walk.
        window.protection.beginWalk(cpu: cpu)
        window.log.begin()
        var r = walker.walk(at: address, window: &window)
        if extraWork != 0 { r.frameSum = wb_extra_work(r.frameSum, extraWork) }
        if window.log.readFreedTable() { uaf &+= 1 }
        if window.log.readFreedPage() { pageUAF &+= 1 }
        window.protection.endWalk(cpu: cpu)
        walker.releasePages(r)
        checksum &+= r.frameSum
        retries &+= UInt64(truncatingIfNeeded: r.retries)
        leaves &+= UInt64(truncatingIfNeeded: r.leaves)
    }
}

/// One slot per thread, each written by its own thread and read after join.
final class Slots<T>: @unchecked Sendable {
    // @unchecked Sendable: thread i writes only slot i; the reader reads after pthread_join.
    private let storage: UnsafeMutablePointer<T?>
    let count: Int
    init(_ count: Int) {
        self.count = count
        storage = .allocate(capacity: max(count, 1))
        storage.initialize(repeating: nil, count: max(count, 1))
    }
    deinit {
        storage.deinitialize(count: max(count, 1))
        storage.deallocate()
    }
    subscript(i: Int) -> T? {
        get { storage[i] }
        set { storage[i] = newValue }
    }
}
