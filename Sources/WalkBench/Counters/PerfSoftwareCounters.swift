import CWalkSupport

/// perf software events through perf_event_open, per thread: `perf::task-clock`,
/// `perf::context-switches`, `perf::cpu-migrations`, `perf::page-faults` (and cpu-clock, minor-faults,
/// major-faults). They need no PMU, so they work in VMs; they need perf_event_paranoid <= 2 (or
/// CAP_PERFMON) to count one's own threads.
public struct PerfSoftwareCounters: CounterSource {
    public static let prefix = "perf::"
    static let known: [String: UInt64] = [
        "cpu-clock": UInt64(WB_PERF_SW_CPU_CLOCK), "task-clock": UInt64(WB_PERF_SW_TASK_CLOCK),
        "page-faults": UInt64(WB_PERF_SW_PAGE_FAULTS), "context-switches": UInt64(WB_PERF_SW_CONTEXT_SWITCHES),
        "cpu-migrations": UInt64(WB_PERF_SW_CPU_MIGRATIONS), "minor-faults": UInt64(WB_PERF_SW_PAGE_FAULTS_MIN),
        "major-faults": UInt64(WB_PERF_SW_PAGE_FAULTS_MAJ),
    ]

    public let events: [String]
    public let unavailable: [String: String]
    public var scope: CounterScope { .thread }
    private let configs: [UInt64]

    public init(events: [String]) throws {
        var configs: [UInt64] = []
        for e in events {
            guard let c = Self.known[String(e.dropFirst(Self.prefix.count))] else {
                throw CounterError(description: "--counters: unknown perf event \"\(e)\"; allowed: "
                                   + Self.known.keys.sorted().map { Self.prefix + $0 }.joined(separator: ", "))
            }
            configs.append(c)
        }
        self.events = events
        self.configs = configs
        // Probe on this thread: what fails here fails on every thread of the run.
        var why: [String: String] = [:]
        for (e, c) in zip(events, configs) {
            let fd = wb_perf_open_software(c)
            if fd < 0 { why[e] = "\(e): " + Self.explain(errno: -fd) } else { wb_perf_close(fd) }
        }
        unavailable = why
    }

    static func explain(errno e: Int32) -> String {
        switch e {
        case EACCES, EPERM:
            let paranoid = RunEnvironment.read("/proc/sys/kernel/perf_event_paranoid") ?? "?"
            return "perf_event_open: permission denied (kernel.perf_event_paranoid=\(paranoid); counting one's own threads needs <= 2, or CAP_PERFMON)"
        case ENOENT, ENODEV, EOPNOTSUPP:
            return "perf_event_open: event not supported by this kernel"
        case ENOSYS:
            return "perf_event_open: not available (no perf support in this kernel or container)"
        default:
            return "perf_event_open: \(String(cString: strerror(e))) (errno \(e))"
        }
    }

    public func open() -> any CounterSession { Session(events: events, configs: configs) }

    struct Session: CounterSession {
        let events: [String]
        let fds: [Int32]
        var values: [String: Double] = [:]
        var scaled: [String: Double] = [:]

        init(events: [String], configs: [UInt64]) {
            self.events = events
            fds = configs.map { wb_perf_open_software($0) }
        }

        mutating func start() { for fd in fds where fd >= 0 { _ = wb_perf_enable(fd) } }

        mutating func stop() {
            for fd in fds where fd >= 0 { _ = wb_perf_disable(fd) }
            for (e, fd) in zip(events, fds) where fd >= 0 {
                var value: UInt64 = 0, enabled: UInt64 = 0, running: UInt64 = 0
                guard wb_perf_read(fd, &value, &enabled, &running) == 0 else { continue }
                if running > 0 && running < enabled {
                    values[e] = Double(value) * Double(enabled) / Double(running)
                    scaled[e] = Double(running) / Double(enabled)
                } else {
                    values[e] = Double(value)
                }
            }
        }

        func close() { for fd in fds where fd >= 0 { wb_perf_close(fd) } }
    }
}

#if canImport(Glibc)
import Glibc
#endif
