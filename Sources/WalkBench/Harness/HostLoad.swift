#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// What else the machine is doing: the CPU time of everything but this process, and the time the
/// hypervisor stole, between two readings of /proc/stat. A run reads it once before measuring (the
/// preflight) and around every repetition's measured phase, so a disturbed repetition says so in its
/// row instead of passing for a slow strategy.
public struct HostLoad: Sendable {
    /// Clock ticks (USER_HZ) summed over all CPUs.
    var busy: UInt64
    var steal: UInt64
    var total: UInt64
    /// This process's user + system ticks, all its threads.
    var own: UInt64

    /// The current reading, or nil where /proc is not there to read.
    public static func now() -> HostLoad? {
        guard let stat = RunEnvironment.read("/proc/stat"),
              let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        // user nice system idle iowait irq softirq steal [guest guest_nice: already inside user/nice]
        let f = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard f.count >= 8 else { return nil }
        guard let own = ownTicks() else { return nil }
        return HostLoad(busy: f[0] + f[1] + f[2] + f[5] + f[6], steal: f[7], total: f[0...7].reduce(0, +), own: own)
    }

    /// What happened between `earlier` and this reading.
    public func since(_ earlier: HostLoad) -> Disturbance? {
        let total = self.total &- earlier.total
        guard total > 0, self.total >= earlier.total else { return nil }
        let others = Int64(bitPattern: (busy &- earlier.busy) &- (own &- earlier.own))
        return Disturbance(otherCPUPercent: max(0, Double(others)) / Double(total) * 100,
                           stealPercent: Double(steal &- earlier.steal) / Double(total) * 100,
                           ticks: total)
    }

    /// utime + stime of this process (fields 14 and 15 of /proc/self/stat, after the command name).
    static func ownTicks() -> UInt64? {
        guard let s = RunEnvironment.read("/proc/self/stat"), let close = s.lastIndex(of: ")") else { return nil }
        let f = s[s.index(after: close)...].split(separator: " ")
        // f[0] is the state (field 3), so field n is f[n - 3].
        guard f.count > 12, let u = UInt64(f[11]), let k = UInt64(f[12]) else { return nil }
        return u + k
    }
}

/// Other processes' share of all CPUs' time, and the share stolen by the hypervisor, over an interval.
public struct Disturbance: Sendable, Equatable {
    public var otherCPUPercent: Double
    public var stealPercent: Double
    /// Clock ticks the interval spanned over all CPUs: its resolution (one tick is 1/ticks of it).
    public var ticks: UInt64

    /// Above these a repetition, or the machine before a run, counts as disturbed.
    public static let otherCPULimit = 10.0
    public static let stealLimit = 2.0

    /// /proc/stat counts in clock ticks, so over a short interval a couple of ticks of rounding look
    /// like load: the limit is never below 2.5 ticks' worth.
    public var isDisturbed: Bool {
        let resolution = ticks > 0 ? 250 / Double(ticks) : 0
        return otherCPUPercent > max(Self.otherCPULimit, resolution) || stealPercent > max(Self.stealLimit, resolution)
    }
}

/// The look at the machine before anything is measured: what would disturb the run.
public struct Preflight: Sendable {
    public var load: Disturbance?
    /// /proc/loadavg: the 1-minute average and the runnable tasks other than the reader itself.
    public var loadAverage: Double?
    public var otherRunnable: Int?
    public var governor: String
    /// Allowed CPUs that share a core with another allowed CPU (their walkers compete for one core).
    public var smtSiblings: [[Int]]
    /// /sys/kernel/mm/transparent_hugepage/enabled, the bracketed mode.
    public var thp: String

    /// Samples the machine for `seconds` while this process sleeps.
    public static func run(seconds: Double = 0.3, cpus: [Int] = CPUThread.allowedCPUs) -> Preflight {
        let before = HostLoad.now()
        Runner.sleep(seconds: seconds)
        let load = before.flatMap { b in HostLoad.now()?.since(b) }
        var loadAverage: Double?, otherRunnable: Int?
        if let la = RunEnvironment.read("/proc/loadavg")?.split(separator: " "), la.count >= 4 {
            loadAverage = Double(la[0])
            // "running/total": the running count includes the task that reads the file.
            otherRunnable = la[3].split(separator: "/").first.flatMap { Int($0) }.map { max(0, $0 - 1) }
        }
        return Preflight(load: load, loadAverage: loadAverage, otherRunnable: otherRunnable,
                         governor: RunEnvironment.read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor") ?? "none",
                         smtSiblings: siblings(of: cpus), thp: thpMode())
    }

    public static func thpMode() -> String {
        guard let s = RunEnvironment.read("/sys/kernel/mm/transparent_hugepage/enabled"),
              let open = s.firstIndex(of: "["), let close = s.firstIndex(of: "]"), open < close else { return "unknown" }
        return String(s[s.index(after: open)..<close])
    }

    static func siblings(of cpus: [Int]) -> [[Int]] {
        var groups: [[Int]] = []
        for cpu in cpus {
            guard let list = RunEnvironment.read("/sys/devices/system/cpu/cpu\(cpu)/topology/thread_siblings_list") else { continue }
            let shared = CPUList.parse(list).filter { cpus.contains($0) }
            if shared.count > 1, !groups.contains(shared) { groups.append(shared) }
        }
        return groups
    }

    /// What would disturb the run, one phrase each; empty on a quiet machine.
    public var warnings: [String] {
        var w: [String] = []
        if let l = load, l.otherCPUPercent > Disturbance.otherCPULimit {
            w.append(String(format: "other processes used %.0f%% of the CPUs", l.otherCPUPercent)
                     + (loadAverage.map { String(format: " (load average %.2f", $0) + (otherRunnable.map { ", \($0) other runnable)" } ?? ")") } ?? ""))
        }
        if let l = load, l.stealPercent > Disturbance.stealLimit {
            w.append(String(format: "the hypervisor stole %.0f%% of the CPU time", l.stealPercent))
        }
        if governor != "none" && governor != "performance" {
            w.append("CPU frequency scaling is on (governor \(governor)); timings drift with the clock")
        }
        for g in smtSiblings {
            w.append("CPUs \(g.map(String.init).joined(separator: ",")) are SMT siblings: threads pinned to them share a core")
        }
        return w
    }

    /// The preflight's CSV summary: "quiet", or the warnings joined.
    public var verdict: String { warnings.isEmpty ? "quiet" : warnings.joined(separator: "; ") }
    /// Quiet means no other load and no steal; frequency scaling and SMT are properties of the machine,
    /// warned about but not what `--require-quiet` refuses.
    public var isBusy: Bool { load?.isDisturbed ?? false }
}

/// "0-3,8,10-11" as Linux writes CPU lists.
enum CPUList {
    static func parse(_ s: String) -> [Int] {
        s.split(separator: ",").flatMap { part -> [Int] in
            let ends = part.split(separator: "-").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            if ends.count == 2, ends[0] <= ends[1] { return Array(ends[0]...ends[1]) }
            return ends.count == 1 ? ends : []
        }
    }
}
