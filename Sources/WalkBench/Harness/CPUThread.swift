#if canImport(Glibc)
import Glibc
#endif
import CWalkSupport
import Synchronization

/// One simulated CPU: a pthread, pinned to a real CPU where the machine allows it.
public final class CPUThread {
    private var thread: pthread_t

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Starts `body` on a new thread.
    public init(_ body: @escaping @Sendable () -> Void) throws {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var t = pthread_t()
        let rc = pthread_create(&t, nil, { arg in
            let box = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            throw SystemCallError(call: "pthread_create", errno: rc)
        }
        thread = t
    }

    public func join() { pthread_join(thread, nil) }

    /// Pins the calling thread to `cpu`; returns nil or the reason it could not.
    public static func pinCurrent(to cpu: Int) -> String? {
        let rc = wb_pin_self(Int32(cpu))
        return rc == 0 ? nil : "pthread_setaffinity_np(cpu \(cpu)): \(String(cString: strerror(rc)))"
    }

    /// The real CPUs this process may run on, in order.
    public static let allowedCPUs: [Int] = {
        var cpus = [Int32](repeating: 0, count: 4096)
        let n = wb_allowed_cpu_list(&cpus, Int32(cpus.count))
        return n > 0 ? cpus[0..<Int(n)].map(Int.init) : [0]
    }()
}

/// The phases every thread of a repetition goes through, and the barrier that starts them together.
public final class RunControl: @unchecked Sendable {
    // @unchecked Sendable: atomics only.
    public enum Phase: Int { case warmup = 0, measure = 1, stop = 2 }
    private let phaseValue = Atomic<Int>(Phase.warmup.rawValue)
    private let arrived = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let parties: Int
    /// Per CPU: set once its loop has ended (for the watchdog).
    private let done: UnsafeMutablePointer<Atomic<Bool>>

    public init(parties: Int) {
        self.parties = parties
        done = .allocate(capacity: parties)
        for i in 0..<parties { (done + i).initialize(to: Atomic(false)) }
    }

    deinit { done.deallocate() }

    /// Read once per batch. Relaxed: a batch more or less at a phase edge changes nothing; the
    /// counters are handed over through thread join, which orders everything.
    @inline(__always)
    public var phase: Phase { Phase(rawValue: phaseValue.load(ordering: .relaxed))! }

    public func set(_ phase: Phase) { phaseValue.store(phase.rawValue, ordering: .releasing) }

    /// Every thread and the controller meet here before warm-up starts.
    public func arriveAndWait() {
        arrived.wrappingAdd(1, ordering: .acquiringAndReleasing)
        while arrived.load(ordering: .acquiring) < parties { sched_yield() }
    }

    /// A CPU whose loop has ended waits here, interrupts enabled, until every CPU's loop has ended:
    /// then no writer can still be sending it an IPI, and its thread may exit.
    public func finishAndWait(cpu: Int) {
        done[cpu].store(true, ordering: .releasing)
        finished.wrappingAdd(1, ordering: .acquiringAndReleasing)
        while finished.load(ordering: .acquiring) < parties - 1 { sched_yield() }
    }

    /// Waits up to `seconds` for every CPU to reach `finishAndWait`; returns the CPUs that did not.
    public func awaitFinish(cpus: Int, seconds: Double) -> [Int] {
        let deadline = TimeBase.monotonicNanoseconds() + UInt64(seconds * 1e9)
        while finished.load(ordering: .acquiring) < parties - 1 {
            if TimeBase.monotonicNanoseconds() > deadline {
                return (0..<cpus).filter { !done[$0].load(ordering: .acquiring) }
            }
            usleep(1000)
        }
        return []
    }
}
