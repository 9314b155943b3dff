import CWalkSupport
import Synchronization

/// Simulated CPUs' interrupt state and the IPIs between them (see walkipi.h for the mechanism).
///
/// Used by every strategy whose walkers disable interrupts or whose freer must interrupt CPUs:
/// irq-disable and irq-disable-rcu (the TLB-shootdown IPI), counted-ipi-skip, the ppc family
/// (serialize_against_pte_lookup), the emulated grace period (GracePeriodReclaimer) and the RCU
/// strategies' sync fallback.
public final class InterruptDomain: @unchecked Sendable {
    // @unchecked Sendable: the per-CPU state is written by its owner (and its signal handler) and read
    // by senders through C atomics; `waitingFor` is atomic.
    // Opaque: Swift does not import the over-aligned C struct; only the C helpers touch its fields.
    let cpus: OpaquePointer
    public let count: Int
    private let sent = Atomic<UInt64>(0)
    /// Per CPU: the CPU it is waiting to hear an ack from, or -1 (for the watchdog's message).
    private let waitingFor: UnsafeMutablePointer<Atomic<Int>>

    public init(cpuCount: Int) throws {
        try pthreadCall("sigaction(SIGUSR1)") { wb_ipi_install() }
        guard let p = wb_cpus_alloc(Int32(cpuCount)) else { throw SystemCallError(call: "posix_memalign", errno: ENOMEM) }
        cpus = p
        count = cpuCount
        waitingFor = .allocate(capacity: cpuCount)
        for i in 0..<cpuCount { (waitingFor + i).initialize(to: Atomic(-1)) }
    }

    deinit {
        wb_cpus_free(cpus)
        waitingFor.deallocate()
    }

    @inline(__always) func cpu(_ i: Int) -> OpaquePointer { wb_cpu_at(cpus, Int32(truncatingIfNeeded: i)) }

    /// The calling thread becomes CPU `i`.
    public func bind(_ i: Int) { wb_cpu_bind(cpu(i)) }
    public func unbind(_ i: Int) { wb_cpu_unbind(cpu(i)) }

    @inline(__always) public func irqDisable(_ i: Int) { wb_irq_disable(cpu(i)) }
    @inline(__always) public func irqEnable(_ i: Int) { wb_irq_enable(cpu(i)) }

    /// smp_call_function_many(targets, wait=1): interrupts every target but the sender and waits until
    /// each has acked, which a CPU with interrupts disabled does only when it enables them again.
    /// The sender's own interrupts stay enabled while it waits, so it keeps serving IPIs sent to it.
    /// Returns how many IPIs were delivered and acked.
    @discardableResult
    public func interruptAndWait(_ targets: [Int], from sender: Int) -> Int {
        var pending: [(cpu: Int, seq: UInt64)] = []
        pending.reserveCapacity(targets.count)
        for t in targets where t != sender {
            let seq = wb_ipi_send(cpu(t))
            if seq != 0 { pending.append((t, seq)) }  // 0: the CPU is offline and runs nothing
        }
        let waitStart = TimeBase.monotonicNanoseconds()
        defer { wb_event_add(WB_EVENT_IPI_WAIT_NS, Int64(TimeBase.monotonicNanoseconds() &- waitStart)) }
        var acked = 0
        for (t, seq) in pending {
            waitingFor[sender].store(t, ordering: .relaxed)
            var spins = 0
            while wb_ipi_is_acked(cpu(t), seq) == 0 {
                wb_cpu_relax()
                spins &+= 1
                // Oversubscribed: the target may be waiting for this core.
                if spins & 1023 == 0 { sched_yield() }
            }
            acked += 1
        }
        waitingFor[sender].store(-1, ordering: .relaxed)
        // What happened, not what was meant: IPIs delivered and acked, counted once the ack is seen.
        sent.wrappingAdd(UInt64(acked), ordering: .relaxed)
        wb_event_add(WB_EVENT_IPIS_SENT, Int64(acked))
        return acked
    }

    /// IPIs delivered and acked (a CPU offline at the send is not counted: it ran nothing to interrupt).
    public var ipisSent: UInt64 { sent.load(ordering: .relaxed) }
    public func resetCounters() { sent.store(0, ordering: .relaxed) }

    /// IPIs a CPU acked from its handler at once, and ones it deferred until it enabled interrupts.
    public func handled(_ i: Int) -> (immediately: UInt64, deferred: UInt64) {
        (wb_ipi_handled(cpu(i)), wb_ipi_deferred(cpu(i)))
    }

    /// `sender` waits for an ack from `target`, whose interrupts are off with the IPI pending: only
    /// `target`'s irq enable can end the wait.
    public func ackHeldBack(target: Int, sender: Int) -> String? {
        guard waitingFor[sender].load(ordering: .relaxed) == target, wb_ipi_waits_for_enable(cpu(target)) != 0 else { return nil }
        return "CPU \(sender) waits for CPU \(target)'s IPI ack, pending until CPU \(target) enables interrupts"
    }

    public func waitDescription(cpu i: Int) -> String? {
        let t = waitingFor[i].load(ordering: .relaxed)
        return t >= 0 ? "waiting for an IPI ack from CPU \(t)" : nil
    }
}

/// A strategy whose CPUs take IPIs: each thread becomes its simulated CPU in the domain, and the
/// IPIs its freer sends are its updater-side counters.
public protocol InterruptDriven: WalkProtection {
    var interrupts: InterruptDomain { get }
}

extension InterruptDriven {
    public func cpuStarted(_ cpu: Int) { interrupts.bind(cpu) }
    public func cpuStopping(_ cpu: Int) { interrupts.unbind(cpu) }
    public func updaterCounters() -> UpdaterCounters { UpdaterCounters(ipisSent: interrupts.ipisSent) }
    public func resetUpdaterCounters() { interrupts.resetCounters() }
    public func waitDescription(cpu: Int) -> String? { interrupts.waitDescription(cpu: cpu) }
    public func freeHeldBack(walker: Int, writer: Int) -> String? { interrupts.ackHeldBack(target: walker, sender: writer) }
}

#if canImport(Glibc)
import Glibc
#endif
