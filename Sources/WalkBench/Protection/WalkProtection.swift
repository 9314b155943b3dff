/// A way of keeping page-table pages alive while lockless walkers may read them.
///
/// As in liburcu's flavour table, every member belongs to one side:
/// - reader side, called by a walking CPU: `beginWalk` / `endWalk` around one walk (or `withWalk`, which
///   cannot be left half-open), and `quiescent` between walks;
/// - updater side, called by a writer holding the mmap_lock for writing: `retire` a table it has just
///   unlinked (tlb_remove_table), `flush` at the end of the gather (tlb_finish_mmu), and `drain` to wait
///   until everything retired has been freed (rcu_barrier).
///
/// Simulated CPUs are numbered 0..<cpuCount; each thread of a run is one CPU and calls `cpuStarted`
/// before its first walk and `cpuStopping` after its last.
public protocol WalkProtection: AnyObject, Sendable {
    /// The name used on the command line and in the CSV.
    static var name: String { get }
    /// One line for `bench list`.
    static var summary: String { get }
    /// True if the strategy promises that no walker reads a freed table. `bench validate` expects SAFE
    /// from these and UNSAFE from the others.
    static var guaranteesSafety: Bool { get }

    init(_ context: ProtectionContext) throws

    func cpuStarted(_ cpu: Int)
    func cpuStopping(_ cpu: Int)

    func beginWalk(cpu: Int)
    func endWalk(cpu: Int)
    func quiescent(cpu: Int)

    func retire(_ table: TableIndex, cpu: Int)
    func flush(cpu: Int)
    func drain()
}

extension WalkProtection {
    public func cpuStarted(_ cpu: Int) {}
    public func cpuStopping(_ cpu: Int) {}
    @inline(__always) public func quiescent(cpu: Int) {}

    /// One walk inside the strategy's window. The closure is inlined: no closure call in the hot path.
    @inline(__always)
    public func withWalk<R>(cpu: Int, _ body: () -> R) -> R {
        beginWalk(cpu: cpu)
        defer { endWalk(cpu: cpu) }
        return body()
    }
}

/// What a strategy is built from.
public struct ProtectionContext: Sendable {
    public let mm: AddressSpace
    /// Simulated CPUs in the run (walkers + writers).
    public let cpuCount: Int

    public init(mm: AddressSpace, cpuCount: Int) {
        self.mm = mm
        self.cpuCount = cpuCount
    }
}
