#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Walks outside the runner, for harnesses that time them themselves (Benchmarks/WalkBenchmarks, run by
/// `swift package benchmark`). A session builds the address space exactly as `bench run` does for the
/// same scenario (the workload's mapping, populated from the seed) and runs the runner's own walk loop
/// (`WalkLoop.walkBatch`, specialised for the strategy, walker and oracle mode through the registries,
/// and the same compiled function the runner calls), so what package-benchmark times is the code
/// `bench run` times: the strategy's window, the walk, the oracle
/// check if on, and the strategy's quiescent state once per batch of 256 walks, as the runner does.
///
/// One walker, no writers: nothing is ever retired or freed while a session walks, so the numbers are
/// the reader side's cost only (what `bench run --workloads read-mostly --readers 1` measures).
///
/// The only dynamic dispatch is one call per `walks(_:)` into the specialised loop; nothing in it
/// allocates (the walk benchmarks gate on package-benchmark's malloc count being 0).
public final class WalkSession: @unchecked Sendable {
    // @unchecked Sendable: a session is used by one thread at a time (the benchmark's), as a runner's
    // walker thread uses its loop; `withCPU` binds that thread as CPU 0 for the duration.
    public let scenario: Scenario
    private let driver: WalkDriving
    private var closed = false

    /// The scenario `bench run` would measure for these names with one reader and no writer.
    public static func scenario(strategy: String, walker: String = LookupWalker.name, dispatch: String = Dispatch.none,
                                workload: String = ReadMostly.name, geometry: String = Geometry.x86_64_4level.name,
                                oracle: Bool = false, takeReference: Bool = true) throws -> Scenario {
        guard let g = Geometry.named(geometry) else { throw Runner.Failure(description: "no geometry \(geometry)") }
        guard let w = Workloads.named(workload) else { throw Runner.Failure(description: "no workload \(workload)") }
        var s = Scenario(geometry: g, workload: w, strategy: strategy, walker: walker, readers: 1, writers: 0, oracle: oracle,
                         walkOptions: WalkOptions(takeReference: takeReference))
        s.dispatch = dispatch
        return s
    }

    /// Builds the tables and the strategy. Throws for a name the registries do not know, or a pair the
    /// PTE-lock rule refuses (`iterator` with an IRQ-off strategy).
    public init(_ scenario: Scenario) throws {
        if let why = PTELockRule.refusal(walker: scenario.walker, strategy: scenario.strategy) {
            throw Runner.Failure(description: "\(scenario.label): \(why)")
        }
        self.scenario = scenario
        driver = try scenario.withConcreteTypes(MakeDriver())
    }

    public convenience init(strategy: String, walker: String = LookupWalker.name, dispatch: String = Dispatch.none,
                            workload: String = ReadMostly.name, oracle: Bool = false, takeReference: Bool = true) throws {
        try self.init(Self.scenario(strategy: strategy, walker: walker, dispatch: dispatch, workload: workload,
                                    oracle: oracle, takeReference: takeReference))
    }

    /// Runs `body` with the calling thread as the walker's CPU (cpuStarted before, cpuStopping after: an
    /// RCU strategy registers the thread, an IRQ-off one binds its interrupt mask). Call `walks` only
    /// inside it. What registering allocates happens here, outside whatever `body` measures.
    ///
    /// `pinned`: first pin the calling thread to the first CPU this process may use, as the runner pins
    /// its first walker. The pin stays after `body` returns (undoing it between samples would let the
    /// thread migrate and start the next sample on cold caches), so pass it only from a thread that is
    /// the process's own to keep, as package-benchmark's is; never from a shared pool thread.
    public func withCPU<R>(pinned: Bool = false, _ body: (WalkSession) throws -> R) rethrows -> R {
        precondition(!closed, "WalkSession used after close()")
        if pinned, let why = CPUThread.pinCurrent(to: CPUThread.allowedCPUs[0]) {
            // Unpinned is still a measurement; say so once rather than fail the benchmark.
            if !Self.warnedUnpinned.exchange(true, ordering: .relaxed) {
                let line = "WalkSession: cannot pin the walking thread (\(why)); walking unpinned\n"
                _ = line.withCString { write(2, $0, strlen($0)) }
            }
        }
        driver.start()
        defer { driver.stop() }
        return try body(self)
    }

    /// Runs `count` walks at the scenario's random addresses, on this thread, inside `withCPU`.
    /// Returns the running checksum of the frames found (hand it to a black hole).
    @discardableResult
    public func walks(_ count: Int) -> UInt64 { driver.walks(count) }

    /// Walks, leaves found and use-after-frees seen since the session began.
    public var counts: (walks: UInt64, leaves: UInt64, uaf: UInt64) { driver.counts() }

    /// Unmaps everything through the strategy and checks that only the root is left. Call once.
    public func close() throws {
        guard !closed else { return }
        closed = true
        try driver.tearDown()
    }

    deinit { try? close() }

    private static let warnedUnpinned = Atomic<Bool>(false)
}

/// The type-erased face of one specialised loop: closures made inside `MakeDriver.run<P, W, L>`, so
/// they are compiled for the concrete strategy, walker and oracle mode. (A generic class's methods
/// called through a protocol existential would run the unspecialised generic code, every strategy
/// call through a witness table: not what the runner runs.)
struct WalkDriving {
    let start: () -> Void
    let stop: () -> Void
    let walks: (Int) -> UInt64
    let counts: () -> (walks: UInt64, leaves: UInt64, uaf: UInt64)
    let tearDown: () throws -> Void
}

private struct MakeDriver: ScenarioBody {
    func run<P: WalkProtection, W: PageWalker, L: OracleLog>(
        _ scenario: Scenario, _: P.Type, _: W.Type, _: L.Type
    ) throws -> WalkDriving {
        let state = try SessionState<P, W, L>(scenario)
        return WalkDriving(
            start: { state.start() },
            stop: { state.stop() },
            walks: { count in Self.walks(state, count) },
            counts: { (state.walked, state.loop?.leaves ?? 0, state.loop?.uaf ?? 0) },
            tearDown: { try state.tearDown() })
    }

    /// The hot loop: the runner's own compiled batch loop (`WalkLoop.walkBatch`), cut where the runner
    /// cuts it, with the strategy's quiescent state every `batch` walks.
    @inline(never)
    static func walks<P: WalkProtection, W: PageWalker, L: OracleLog>(_ state: SessionState<P, W, L>, _ count: Int) -> UInt64 {
        // Moved out of the class and back: mutated as a local, uniquely referenced (no exclusivity
        // check per walk, no copy-on-write of a walker's buffers).
        var l = state.loop.take()!
        defer { state.loop = l }
        let protection = state.protection
        let batch = state.batch
        var since = state.sinceQuiescent
        var left = count
        while left > 0 {
            let k = min(left, batch - since)
            l.walkBatch(k)
            since += k
            left -= k
            if since == batch {
                protection.quiescent(cpu: SessionState<P, W, L>.walkerCPU)
                since = 0
            }
        }
        state.sinceQuiescent = since
        state.walked &+= UInt64(count)
        return l.checksum
    }
}

final class SessionState<P: WalkProtection, W: PageWalker, L: OracleLog> {
    static var walkerCPU: Int { 0 }
    /// The CPU that tears the space down (the runner's controller CPU).
    static var tearDownCPU: Int { 1 }
    let mm: AddressSpace
    let protection: P
    var loop: WalkLoop<P, W, L>?
    let batch: Int
    var sinceQuiescent = 0
    var walked: UInt64 = 0

    init(_ scenario: Scenario) throws {
        mm = try Runner.buildAddressSpace(scenario, clock: nil)
        if scenario.oracle { mm.pool.watchedCPUs.store(1, ordering: .relaxed) }
        protection = try P(ProtectionContext(mm: mm, cpuCount: 2, options: scenario.protectionOptions, timeBase: .fallback))
        var l = WalkLoop<P, W, L>(protection: protection, cpu: Self.walkerCPU, mm: mm, options: scenario.walkOptions,
                                  delayTicks: 0, timeBase: .fallback, seed: scenario.seed)
        l.window.log.watch(cpu: Self.walkerCPU)
        loop = l
        batch = scenario.timing.batch
    }

    func start() {
        mm.cpumask.set(Self.walkerCPU)
        protection.cpuStarted(Self.walkerCPU)
    }

    func stop() {
        protection.cpuStopping(Self.walkerCPU)
        mm.cpumask.clear(Self.walkerCPU)
    }

    func tearDown() throws {
        loop?.window.log.release()
        loop = nil
        protection.cpuStarted(Self.tearDownCPU)
        try mm.tearDown(protection: protection, cpu: Self.tearDownCPU)
        protection.cpuStopping(Self.tearDownCPU)
        guard mm.pool.liveTables == 1 else {
            throw Runner.Failure(description: "\(mm.pool.liveTables - 1) tables still live after tear-down (leak)")
        }
    }
}
