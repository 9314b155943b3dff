import CPAPI
import Synchronization

/// PAPI, initialised once per process: the library, thread support, and the walkbench SDE library.
enum PAPILibrary {
    /// nil when PAPI is ready; otherwise why it is not.
    static let failure: String? = {
        // Export the strategies' events before PAPI looks for SDE libraries.
        WalkBenchEvents.register()
        let v = PAPI_library_init(wb_papi_ver_current())
        guard v == wb_papi_ver_current() else {
            return v < 0 ? "PAPI_library_init: \(message(v))" : "PAPI_library_init: version mismatch (library \(v))"
        }
        let rc = wb_papi_thread_init()
        guard rc == PAPI_OK else { return "PAPI_thread_init: \(message(rc))" }
        // Resolve the SDE names now, once: libpapi 7.0 crashed resolving them again from another
        // thread after a first event set had come and gone (seen in the tests here).
        for name in WalkBenchEvents.names {
            var code: Int32 = 0
            let full = "\(SDECounters.prefix)\(SDECounters.library)::\(name)"
            if PAPI_event_name_to_code(full, &code) == PAPI_OK { sdeCodes.withLock { $0[full] = code } }
        }
        return nil
    }()

    /// Codes of the walkbench SDE events, resolved at initialisation.
    static let sdeCodes = Locked<[String: Int32]>([:])

    /// Whether the kernel exposes a CPU PMU to perf_event (which PAPI's hardware events need).
    static let hasCPUPMU = RunEnvironment.read("/sys/bus/event_source/devices/cpu/type") != nil
        || RunEnvironment.read("/sys/bus/event_source/devices/cpu_core/type") != nil
    static let noPMU = "; this machine exposes no hardware PMU to perf_event (no /sys/bus/event_source/devices/cpu: a VM without PMU passthrough?)"

    /// Runs `body` with the calling thread known to PAPI. libpapi 7.0 dereferenced a missing per-thread
    /// record (a crash at 0x54) when a thread it had never seen resolved a name after other threads'
    /// event sets had come and gone.
    static func onRegisteredThread<R>(_ body: () throws -> R) rethrows -> R {
        let registered = PAPI_register_thread() == PAPI_OK
        defer { if registered { PAPI_unregister_thread() } }
        return try body()
    }

    static func message(_ rc: Int32) -> String {
        guard let s = PAPI_strerror(rc) else { return "error \(rc)" }
        return "\(String(cString: s)) (\(rc))"
    }

    /// An event set holding `code`, started and stopped once (on a registered thread): nil if it works,
    /// else why not.
    static func probe(_ code: Int32) -> String? { onRegisteredThread { probeHere(code) } }

    private static func probeHere(_ code: Int32) -> String? {
        var set = wb_papi_null()
        var rc = PAPI_create_eventset(&set)
        guard rc == PAPI_OK else { return "PAPI_create_eventset: \(message(rc))" }
        defer {
            PAPI_cleanup_eventset(set)
            PAPI_destroy_eventset(&set)
        }
        rc = PAPI_add_event(set, code)
        guard rc == PAPI_OK else { return "PAPI_add_event: \(message(rc))" + (hasCPUPMU ? "" : Self.noPMU) }
        rc = PAPI_start(set)
        guard rc == PAPI_OK else { return "PAPI_start: \(message(rc))" }
        var value: Int64 = 0
        rc = PAPI_stop(set, &value)
        guard rc == PAPI_OK else { return "PAPI_stop: \(message(rc))" }
        return nil
    }

    /// Counting `events` (with their codes) from the calling thread's point of view, between start and stop.
    /// Multiplexed when the events do not fit the counters together.
    struct Session: CounterSession {
        let events: [String]
        let codes: [Int32]
        var set = wb_papi_null()
        var registered = false
        var ok = false
        var multiplexed = false
        var values: [String: Double] = [:]
        var scaled: [String: Double] = [:]

        /// Opens the set on the calling thread, which PAPI must know as a thread until `close`: PAPI keys
        /// its per-thread state by pthread id, and ids of exited threads are reused.
        init(events: [String], codes: [Int32]) {
            self.events = events
            self.codes = codes
            guard !events.isEmpty else { return }
            registered = PAPI_register_thread() == PAPI_OK
            guard PAPI_create_eventset(&set) == PAPI_OK else { return }
            // PAPI_add_events takes a non-const array: pass an inout copy, valid for the whole call.
            var eventCodes = codes
            var rc = PAPI_add_events(set, &eventCodes, Int32(eventCodes.count))
            if rc == PAPI_ECNFLCT || rc > 0 {
                // More events than counters: a multiplexed set, which PAPI scales by the time each ran.
                PAPI_cleanup_eventset(set)
                _ = PAPI_assign_eventset_component(set, 0)
                rc = PAPI_set_multiplex(set)
                if rc == PAPI_OK { rc = PAPI_add_events(set, &eventCodes, Int32(eventCodes.count)) }
                multiplexed = rc == PAPI_OK
            }
            ok = rc == PAPI_OK
        }

        mutating func start() { if ok { ok = PAPI_start(set) == PAPI_OK } }

        mutating func stop() {
            guard ok else { return }
            var raw = [Int64](repeating: 0, count: codes.count)
            guard PAPI_stop(set, &raw) == PAPI_OK else { return }
            for (e, v) in zip(events, raw) {
                values[e] = Double(v)
                if multiplexed { scaled[e] = 0 }  // scaled by PAPI; the fraction is not exposed
            }
        }

        func close() {
            if set != wb_papi_null() {
                var s = set
                PAPI_cleanup_eventset(s)
                PAPI_destroy_eventset(&s)
            }
            if registered { PAPI_unregister_thread() }
        }
    }
}

/// Hardware (and any other) PAPI presets and native events, counted per thread: `PAPI_TOT_CYC`,
/// `PAPI_TOT_INS`, `PAPI_BR_MSP`, `PAPI_L1_DCM`, `PAPI_TLB_DM`, or a native name.
public struct PAPICounters: CounterSource {
    public let events: [String]
    public let unavailable: [String: String]
    public var scope: CounterScope { .thread }
    private let usable: [String]
    private let codes: [Int32]

    /// An unknown event name is an error (exit 2); a known one this machine cannot count is a note.
    public init(events: [String]) throws {
        self.events = events
        var why: [String: String] = [:]
        var usable: [String] = [], codes: [Int32] = []
        if let failure = PAPILibrary.failure {
            for e in events { why[e] = "\(e): \(failure)" }
        } else {
            for e in events {
                var code: Int32 = 0
                // A name PAPI cannot resolve (ENOEVNT, or ECMP from the component asked) is bad input.
                let rc = PAPILibrary.onRegisteredThread { PAPI_event_name_to_code(e, &code) }
                guard rc == PAPI_OK else {
                    throw CounterError(description: "--counters: unknown event \"\(e)\" (\(PAPILibrary.message(rc))); allowed: PAPI presets (PAPI_TOT_INS, ...), native event names, perf::NAME, sde:::walkbench::NAME")
                }
                if let problem = PAPILibrary.probe(code) { why[e] = "\(e): \(problem)"; continue }
                usable.append(e)
                codes.append(code)
            }
        }
        unavailable = why
        self.usable = usable
        self.codes = codes
    }

    public func open() -> any CounterSession { PAPILibrary.Session(events: usable, codes: codes) }

    /// Whether the kernel exposes a CPU PMU (what the default hardware set needs).
    public static var machineHasPMU: Bool { PAPILibrary.hasCPUPMU }

    /// Whether PAPI knows the name at all (for the default set, which may name other vendors' events).
    static func resolves(_ name: String) -> Bool {
        guard PAPILibrary.failure == nil else { return false }
        var code: Int32 = 0
        return PAPILibrary.onRegisteredThread { PAPI_event_name_to_code(name, &code) } == PAPI_OK
    }
}

/// The strategies' own events as PAPI software-defined events (library "walkbench"), read through PAPI
/// like any other event: `sde:::walkbench::ipis_sent`. Process-wide counts, read once around the
/// measured phase.
public struct SDECounters: CounterSource {
    public static let prefix = "sde:::"
    public static let library = "walkbench"
    public let events: [String]
    public let unavailable: [String: String]
    public var scope: CounterScope { .process }
    private let usable: [String]
    private let codes: [Int32]

    public init(events: [String]) throws {
        self.events = events
        var why: [String: String] = [:]
        var usable: [String] = [], codes: [Int32] = []
        for e in events {
            let name = e.dropFirst(Self.prefix.count)
            guard name.hasPrefix(Self.library + "::"), WalkBenchEvents.names.contains(String(name.dropFirst(Self.library.count + 2))) else {
                throw CounterError(description: "--counters: unknown software-defined event \"\(e)\"; allowed: "
                                   + WalkBenchEvents.names.map { "\(Self.prefix)\(Self.library)::\($0)" }.joined(separator: ", "))
            }
            if let failure = PAPILibrary.failure { why[e] = "\(e): \(failure)"; continue }
            guard let code = PAPILibrary.sdeCodes.withLock({ $0[e] }) else {
                why[e] = "\(e): PAPI's sde component did not resolve it (is libsde's API found in this executable?)"
                continue
            }
            usable.append(e)
            codes.append(code)
        }
        unavailable = why
        self.usable = usable
        self.codes = codes
    }

    public func open() -> any CounterSession { PAPILibrary.Session(events: usable, codes: codes) }
}

/// The SDE counters walkbench exports (their storage is C, in walkevents.h).
public enum WalkBenchEvents {
    public static let names = ["ipis_sent", "ipi_wait_ns", "grace_periods", "tables_retired", "tables_freed",
                               "tables_pending", "walker_retries", "uaf_detected", "ipis_skipped_lazy"]

    private static let registered: Bool = {
        let handle = papi_sde_init(SDECounters.library)
        for (i, name) in names.enumerated() {
            let event = wb_event(rawValue: UInt32(i))
            // tables_pending is a level, the rest are counts: PAPI reports the first as is, the rest as deltas.
            let mode = name == "tables_pending" ? wb_papi_sde_instant() : wb_papi_sde_delta()
            papi_sde_register_counter(handle, name, mode, wb_papi_sde_long_long(), wb_event_address(event))
        }
        return true
    }()

    static func register() { _ = registered }
}

import CWalkSupport
