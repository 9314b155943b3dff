#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Named steps of the walk and free protocols. Forced schedules stop a walker at the walker-side
/// points; the Promela models in Models/ label their steps "@<raw value>" (ProtocolModelTests holds
/// the two together). One list for both.
public enum ProtocolPoint: String, CaseIterable, Sendable {
    /// Walker: the window is open (the strategy's beginWalk has run); no table read yet.
    case windowOpen = "window-open"
    /// Walker: it holds the pointer to its last-level table (the pmd is loaded); the strategy's
    /// leafTableReached has not run yet. The widest point of the race every strategy closes.
    case leafPointerLoaded = "leaf-pointer-loaded"
    /// Walker: leafTableReached has run; the last-level table is read next.
    case leafTableNext = "leaf-table-next"
    /// Walker: it read the leaf and holds no page reference yet (gup_fast between the pte load and
    /// try_grab_folio): where forced page schedules stop it.
    case leafRead = "leaf-read"
    /// Walker: every table read is done and checked by the oracle; endWalk runs next.
    case windowClosing = "window-closing"
    /// Writer: the table's entry is cleared and the table handed to the strategy (tlb_remove_table).
    case unlinked
    /// Writer: the strategy's free path (tlb_finish_mmu's flush) has begun.
    case freeStarted = "free-started"
    /// The table went back to the pool: generation bumped, contents poisoned.
    case freed

    /// Where forced schedules stop the walker, in order.
    public static let walkerStops: [ProtocolPoint] = [.leafPointerLoaded, .leafTableNext]
    var order: Int { Self.allCases.firstIndex(of: self)! }
}

/// Forced schedules: instead of hoping that a writer frees a table while a walker is inside its
/// window, make it so. CPU 0 walks one address and stops at each of `ProtocolPoint.walkerStops`;
/// while it is stopped at the first, CPU 1 unmaps the PTE table under that address and runs the
/// strategy's free path. At every stop the controller waits (deadline, seconds) for one of two
/// events: the table is freed, or the strategy shows a witness that the free is running and held
/// back by the stopped walker (`WalkProtection.freeHeldBack`: an IPI pending on its masked
/// interrupts, a count it holds, a grace period waiting for it). A strategy that promises safety
/// must show the witness at every stop, never the free; then the walker finishes and the free must
/// complete. A broken variant must free the table under the stopped walker, and the walker's oracle
/// must then report the use-after-free. Nothing depends on how the scheduler lands the threads.
public enum ForcedSchedule {
    public struct Case: Sendable {
        public let name: String
        public let strategy: String
        public let expected: Validation.Verdict
        public let summary: String
        var options = ProtectionOptions()
        /// The walker's CPU is not in the mm's cpumask (seed 001: a device walking a foreign mm).
        var foreign = false
        /// The walker's CPU is lazy in the mm (x86 lazy TLB).
        var lazyWalker = false
        /// A page schedule (ForcedPageSchedule.swift) with this walker, instead of the table schedule.
        var pageWalker: String?
    }

    /// Every safe strategy, then the broken variants each must catch.
    public static let cases: [Case] = {
        var all: [Case] = Strategies.all.filter { $0.guaranteesSafety && !$0.validationOnly }.map {
            Case(name: $0.name, strategy: $0.name, expected: .safe, summary: "the free waits for the walker")
        }
        all += [
            Case(name: "irq-disable lazy-walker", strategy: IrqDisableProtection.name, expected: .safe,
                 summary: "lazy TLB on, walker lazy in the mm: a flush that frees tables IPIs lazy CPUs too",
                 options: ProtectionOptions(lazyTLB: .on), lazyWalker: true),
            Case(name: "irq-disable-rcu foreign-mm", strategy: IrqDisableRcuFreeProtection.name, expected: .safe,
                 summary: "seed 001 on x86 6.15+: the shootdown misses the walker, the grace period does not", foreign: true),
            Case(name: "invlpgb foreign-mm", strategy: InvlpgbProtection.name, expected: .safe,
                 summary: "no IPI reaches anyone; the grace period waits for the IRQ-off walker", foreign: true),
            Case(name: "rcu-memb foreign-mm", strategy: RcuMembProtection.name, expected: .safe,
                 summary: "walker not in the cpumask: RCU does not need it", foreign: true),
            Case(name: "rcu-memb fallback pt-reclaim", strategy: RcuMembProtection.name, expected: .safe,
                 summary: "no batch, PT_RECLAIM: the table's own call_rcu waits for the rcu_read_lock walker",
                 options: ProtectionOptions(batchFailRate: 1, ptReclaim: true)),
            Case(name: "rcu-memb-irq fallback", strategy: RcuMembIrqProtection.name, expected: .safe,
                 summary: "no batch: the sync IPI waits for the IRQ-off walker", options: ProtectionOptions(batchFailRate: 1)),
            Case(name: "none", strategy: NoProtection.name, expected: .unsafe, summary: "no protection: freed at once"),
            Case(name: "counted-early-dec", strategy: CountedEarlyDecProtection.name, expected: .unsafe,
                 summary: "the count drops before the last table read (the series' v1 bug)"),
            Case(name: "rcu-qsbr-early-qs", strategy: RcuQsbrEarlyQSProtection.name, expected: .unsafe,
                 summary: "a quiescent state announced inside the walk"),
            Case(name: "irq-disable foreign-mm", strategy: IrqDisableProtection.name, expected: .unsafe,
                 summary: "seed 001: the shootdown goes to the cpumask, which lacks the walker", foreign: true),
            Case(name: "irq-disable lazy-skip", strategy: IrqDisableProtection.name, expected: .unsafe,
                 summary: "lazy CPUs skipped even when tables are freed",
                 options: ProtectionOptions(lazyTLB: .skipEvenWhenFreeing), lazyWalker: true),
            Case(name: "ppc-counted-irq-on", strategy: PpcCountedIrqOnProtection.name, expected: .unsafe,
                 summary: "the series' count held, interrupts left on: neither the serialize round nor the grace period waits"),
            Case(name: "rcu-memb fallback", strategy: RcuMembProtection.name, expected: .unsafe,
                 summary: "no batch: the sync IPI is acked by an rcu_read_lock-only walker mid-walk",
                 options: ProtectionOptions(batchFailRate: 1)),
            Case(name: "rcu-qsbr fallback", strategy: RcuQsbrProtection.name, expected: .unsafe,
                 summary: "no batch: the sync IPI is acked by a QSBR walker mid-walk",
                 options: ProtectionOptions(batchFailRate: 1)),
        ]
        return all + pageCases
    }()

    /// Bugs that stopping threads cannot force, and where they are checked instead.
    public static let notForceable: [(name: String, why: String)] = [
        ("counted, count published with a plain store and no fence",
         "a store-buffer reordering, not a schedule: the store-buffering litmus (bench validate, missing-barrier) observes it, and make verify's counted-nofence model (Models/counted.pml) covers it exhaustively"),
    ]

    public struct Settings: Sendable {
        /// How long to wait for any one event (seconds): generous, so a loaded machine only slows it.
        public var deadline: Double
        public var seed: UInt64
        public var geometry: Geometry
        public init(deadline: Double = 20, seed: UInt64 = 0x466F_7263_6564, geometry: Geometry = .x86_64_4level) {
            self.deadline = deadline
            self.seed = seed
            self.geometry = geometry
        }
    }

    public struct Outcome: Sendable {
        public let forcedCase: Case
        /// Per walker stop: the witness that held the free back, or nil.
        public var heldBack: [(point: ProtocolPoint, witness: String)] = []
        /// The stop at which the table was found freed under the walker.
        public var freedAt: ProtocolPoint?
        public var useAfterFree = false
        /// The table was freed by the end (after the walker resumed, for a safe strategy).
        public var freedInTheEnd = false
        /// Why the schedule could not be completed (a deadline passed), if it could not.
        public var failure: String?
        public var schedule: [String] = []
        public var reproducer = ""
        /// Page schedules: the walker gave up (try-get failed or the re-check saw a change).
        public var walkerRetried = false

        public var verdict: String {
            if let failure { return "UNDECIDED: \(failure)" }
            if forcedCase.pageWalker != nil { return pageVerdict }
            if let at = freedAt { return useAfterFree ? "UNSAFE: freed at \(at.rawValue), use-after-free caught" : "freed at \(at.rawValue), NOT caught by the oracle" }
            if useAfterFree { return "UNSAFE: use-after-free without a free under the stop" }
            return heldBack.count == ProtocolPoint.walkerStops.count && freedInTheEnd ? "SAFE: held back at every stop" : "held back at \(heldBack.count) of \(ProtocolPoint.walkerStops.count) stops"
        }

        public var matches: Bool {
            guard failure == nil else { return false }
            if forcedCase.pageWalker != nil { return pageMatches }
            switch forcedCase.expected {
            case .safe: return freedAt == nil && !useAfterFree && freedInTheEnd && heldBack.count == ProtocolPoint.walkerStops.count
            case .unsafe: return freedAt != nil && useAfterFree
            }
        }
    }

    public static func run(_ c: Case, settings: Settings = Settings()) throws -> Outcome {
        struct Visit: StrategyVisitor {
            let c: Case
            let settings: Settings
            var result: Result<Outcome, Error>?
            mutating func visit<P: WalkProtection>(_: P.Type) {
                guard P.name == c.strategy else { return }
                result = Result {
                    switch c.pageWalker {
                    case nil: try ForcedSchedule.run(c, P.self, settings)
                    case LookupWalker.name?: try ForcedSchedule.runPage(c, P.self, LookupWalker.self, settings)
                    case LookupNoRecheckWalker.name?: try ForcedSchedule.runPage(c, P.self, LookupNoRecheckWalker.self, settings)
                    case let w?: throw Runner.Failure(description: "forced schedule \(c.name): no page schedule for walker \(w)")
                    }
                }
            }
        }
        var v = Visit(c: c, settings: settings)
        Strategies.forEach(&v)
        guard let result = v.result else { throw Runner.Failure(description: "forced schedule \(c.name): no strategy \(c.strategy)") }
        return try result.get()
    }

    /// Two PTE tables' worth of small pages, fully mapped: what every forced schedule walks.
    static func mappedSpace(_ settings: Settings, rng: inout SplitMix64) throws -> (mm: AddressSpace, base: UInt64) {
        let coverage = settings.geometry.pteTableCoverage
        let base = Runner.vmaBase(settings.geometry)
        let vma = base..<(base + 2 * coverage)
        let mm = try AddressSpace(geometry: settings.geometry, mappedBytes: 2 * coverage, clock: nil)
        mm.addVMA(vma)
        try mm.lock.withWriteLock { try mm.populate(vma, density: 1, hugeFraction: 0, rng: &rng) }
        return (mm, base)
    }

    /// Polls `what` until it holds or `seconds` pass; false if they passed.
    static func wait(seconds: Double, for what: () -> Bool) -> Bool {
        let until = TimeBase.monotonicNanoseconds() &+ UInt64(seconds * 1e9)
        while !what() {
            if TimeBase.monotonicNanoseconds() > until { return false }
            usleep(100)
        }
        return true
    }

    static func run<P: WalkProtection>(_ c: Case, _: P.Type, _ settings: Settings) throws -> Outcome {
        let geometry = settings.geometry
        let coverage = geometry.pteTableCoverage
        var rng = SplitMix64(seed: settings.seed)
        let (mm, base) = try mappedSpace(settings, rng: &rng)
        let address = base + (rng.below(coverage) & ~(geometry.pageSize - 1))
        guard let leaf = try mm.table(at: mm.lastLevel, for: address, create: false) else {
            throw Runner.Failure(description: "forced schedule \(c.name): no PTE table under \(hex(address))")
        }
        let leafRange = (address & ~(coverage - 1))..<((address & ~(coverage - 1)) + coverage)
        let linkedGeneration = mm.pool.generation(leaf)
        let protection = try P(ProtectionContext(mm: mm, cpuCount: 3, options: c.options))
        let gate = StopGate()
        let walkerCPU = 0, writerCPU = 1, controllerCPU = 2
        let uaf = Atomic<Bool>(false)

        var out = Outcome(forcedCase: c)
        out.reproducer = "bench validate --forced --case '\(c.name)' --seed \(settings.seed) --geometry \(geometry.name)"
        out.schedule.append("CPU \(walkerCPU) walks \(LookupWalker.name) at \(hex(address))" + (c.foreign ? " (not in the cpumask)" : "") + (c.lazyWalker ? " (lazy in the mm)" : ""))
        func freed() -> Bool { mm.pool.generation(leaf) != linkedGeneration }
        let deadline = settings.deadline
        func waitFor(_ what: () -> Bool) -> Bool { wait(seconds: deadline, for: what) }

        let walker = try CPUThread {
            protection.cpuStarted(walkerCPU)
            if !c.foreign { mm.cpumask.set(walkerCPU) }
            if c.lazyWalker { mm.lazyCPUs.set(walkerCPU) }
            var w = LookupWalker(mm: mm, options: WalkOptions())
            var window = StoppingWindow(protection: protection, cpu: walkerCPU,
                                        log: OracleOn(pool: mm.pool, capacity: w.oracleCapacity), gate: gate)
            protection.beginWalk(cpu: walkerCPU)
            window.log.begin()
            let r = w.walk(at: address, window: &window)
            uaf.store(window.log.readFreedTable(), ordering: .relaxed)
            protection.endWalk(cpu: walkerCPU)
            w.releasePages(r)
            protection.quiescent(cpu: walkerCPU)
            window.log.release()
            mm.cpumask.clear(walkerCPU)
            mm.lazyCPUs.clear(walkerCPU)
            protection.cpuStopping(walkerCPU)
            gate.finished.store(true, ordering: .releasing)
        }

        var writer: ForcedWriter?
        var stopsLeft = ProtocolPoint.walkerStops[...]
        while let point = stopsLeft.popFirst() {
            guard waitFor({ gate.isStopped(at: point) || gate.finished.load(ordering: .acquiring) }),
                  gate.isStopped(at: point) else {
                out.failure = "CPU \(walkerCPU) did not reach \(point.rawValue) (the walk took another path?)"
                break
            }
            out.schedule.append("CPU \(walkerCPU) stopped at \(point.rawValue)")
            if writer == nil {
                writer = try ForcedWriter(cpu: writerCPU, mm: mm, protection: protection, what: "free path") {
                    _ = try mm.unmap(leafRange, protection: protection, cpu: writerCPU)
                }
                out.schedule.append("CPU \(writerCPU) unmaps [\(hex(leafRange.lowerBound)), \(hex(leafRange.upperBound))) and runs the free path")
            }
            var witness: String?
            let decided = waitFor {
                if freed() { return true }
                witness = protection.freeHeldBack(walker: walkerCPU, writer: writerCPU)
                return witness != nil
            }
            if freed() {
                // The first stop at which it was gone is where the walker was betrayed.
                if out.freedAt == nil {
                    out.freedAt = point
                    out.schedule.append("the table was freed while CPU \(walkerCPU) stood at \(point.rawValue)")
                }
            } else if decided, let witness {
                out.heldBack.append((point, witness))
                out.schedule.append("held back at \(point.rawValue): \(witness)")
            } else {
                out.failure = "at \(point.rawValue), in \(Int(deadline)) s, the table was neither freed nor visibly held back"
                    + (writer?.isDone == true ? " (the writer's free path returned)" : "")
                break
            }
            gate.release(point)
        }
        // Whatever happened, let the walker finish so every thread can be joined.
        gate.release(.windowClosing)
        walker.join()
        out.useAfterFree = uaf.load(ordering: .relaxed)
        try writer?.finish(caseName: c.name, protection: protection, seconds: deadline)
        // Tear-down on a third CPU, as the runner does; drain (rcu_barrier) completes deferred frees.
        protection.cpuStarted(controllerCPU)
        protection.drain()
        out.freedInTheEnd = freed()
        try mm.tearDown(protection: protection, cpu: controllerCPU)
        protection.cpuStopping(controllerCPU)
        out.schedule.append(out.freedInTheEnd ? "the free completed after CPU \(walkerCPU) finished" : "the table was never freed")
        return out
    }

    static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
}

/// The forced schedules' writer: one operation on its own CPU, in the mm's cpumask and under the
/// mmap_lock, and what the controller asks of it (is it done, did it fail). Both schedules use it;
/// only the controller thread holds it.
final class ForcedWriter {
    let cpu: Int
    /// What the operation is, for the schedule and the messages ("runs the free path", "collapses").
    let what: String
    /// What the writer's thread reports: shared with it by reference.
    private final class Report: Sendable {
        let done = Atomic<Bool>(false)
        let failure = Locked<String?>(nil)
    }
    private let report = Report()
    private let thread: CPUThread

    init<P: WalkProtection>(cpu: Int, mm: AddressSpace, protection: P, what: String,
                            _ operation: @escaping @Sendable () throws -> Void) throws {
        self.cpu = cpu
        self.what = what
        let report = report
        thread = try CPUThread {
            protection.cpuStarted(cpu)
            mm.cpumask.set(cpu)
            do { try mm.lock.withWriteLock { try operation() } } catch { report.failure.withLock { $0 = "\(error)" } }
            mm.cpumask.clear(cpu)
            protection.cpuStopping(cpu)
            report.done.store(true, ordering: .releasing)
        }
    }

    var isDone: Bool { report.done.load(ordering: .acquiring) }

    /// Waits (`seconds`) for the operation to return once the walker has finished, joins the thread,
    /// and throws the operation's error if it failed. A writer that never returns is the strategy's
    /// deadlock: the process stops with what it was waiting for.
    func finish<P: WalkProtection>(caseName: String, protection: P, seconds: Double) throws {
        if !ForcedSchedule.wait(seconds: seconds, for: { isDone }) {
            preconditionFailure("forced schedule \(caseName): CPU \(cpu)'s \(what) did not return \(Int(seconds)) s after the walker finished: \(protection.waitDescription(cpu: cpu) ?? "no wait described")")
        }
        thread.join()
        if let e = report.failure.withLock({ $0 }) { throw Runner.Failure(description: "forced schedule \(caseName): the writer failed: \(e)") }
    }
}

/// Where the forced walker waits, and the controller's hand on it.
final class StopGate: Sendable {
    /// The walker stands at the point with this order (`ProtocolPoint.order`), or -1.
    private let stoppedAt = Atomic<Int>(-1)
    /// The walker may go past every point up to this order.
    private let releasedUpTo = Atomic<Int>(-1)
    let finished = Atomic<Bool>(false)

    /// On the walker: announce the point, then wait for the controller. usleep, not a spin: the
    /// walker's signal handler (the emulated IPI) runs while it sleeps, as an interrupt would.
    func stop(at point: ProtocolPoint) {
        // Release: the walk's loads so far happen before the controller acts on the stop.
        stoppedAt.store(point.order, ordering: .releasing)
        while releasedUpTo.load(ordering: .acquiring) < point.order { usleep(50) }
        stoppedAt.store(-1, ordering: .relaxed)
    }

    func isStopped(at point: ProtocolPoint) -> Bool { stoppedAt.load(ordering: .acquiring) == point.order }
    func release(_ point: ProtocolPoint) {
        // Release: what the controller saw and did happens before the walker goes on.
        // Only the controller stores, and its points only move forward.
        releasedUpTo.store(point.order, ordering: .releasing)
    }
}

/// The forced walker's window: the oracle's log, and the stops: around the strategy's
/// leafTableReached for the table schedules, after the leaf's read for the page schedules.
struct StoppingWindow<P: WalkProtection, L: OracleLog>: WalkWindow {
    let protection: P
    let cpu: Int
    var log: L
    let gate: StopGate
    /// Stop at `leaf-read` only (a page schedule), instead of the table stops.
    var pageStop = false

    static var oracleEnabled: Bool { L.enabled }
    mutating func followed(_ table: TableIndex, linkedAt generation: UInt32) { log.followed(table, linkedAt: generation) }
    mutating func sawPoison() { log.sawPoison() }
    mutating func tookPage(mapped: UInt32, held: UInt32) { log.tookPage(mapped: mapped, held: held) }
    mutating func beforeLeafTable() {
        if !pageStop { gate.stop(at: .leafPointerLoaded) }
        protection.leafTableReached(cpu: cpu)
        if !pageStop { gate.stop(at: .leafTableNext) }
    }
    mutating func leafRead() { if pageStop { gate.stop(at: .leafRead) } }
}
