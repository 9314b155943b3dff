#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The machine and build a run happened on. Captured once per run; every row carries it, because a
/// ranking can flip between machines.
public struct RunEnvironment: Sendable {
    public var host: String
    public var cpuModel: String
    public var logicalCPUs: Int
    public var smt: String
    public var kernel: String
    public var spectreV2: String
    public var governor: String
    public var perfEventParanoid: String
    public var toolchain: String
    public var build: String
    public var gitRevision: String
    public var invariantTSC: Bool

    /// - Parameter withRevision: record the git revision the binary was built from (embedded at build
    ///   time by Plugins/GitRevision); false records `unknown` (callers that need only the fingerprint).
    public static func capture(withRevision: Bool = true) -> RunEnvironment {
        let cpuinfo = read("/proc/cpuinfo") ?? ""
        let flags = field("flags", in: cpuinfo)?.split(separator: " ").map(String.init) ?? []
        return RunEnvironment(
            host: hostName(),
            cpuModel: field("model name", in: cpuinfo) ?? field("Model", in: cpuinfo) ?? "unknown",
            logicalCPUs: ProcessInfo.processInfo.activeProcessorCount,
            smt: read("/sys/devices/system/cpu/smt/active").map { $0 == "1" ? "on" : "off" } ?? "unknown",
            kernel: kernelRelease(),
            spectreV2: read("/sys/devices/system/cpu/vulnerabilities/spectre_v2") ?? "unknown",
            governor: read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor") ?? "none",
            perfEventParanoid: read("/proc/sys/kernel/perf_event_paranoid") ?? "unknown",
            toolchain: toolchainVersion,
            build: buildConfiguration,
            gitRevision: withRevision ? embeddedGitRevision : "unknown",
            invariantTSC: flags.contains("constant_tsc") && flags.contains("nonstop_tsc"))
    }

    public static var buildConfiguration: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }

    /// The compiler that built this binary (compile-time, so it cannot disagree with the build).
    public static var toolchainVersion: String {
        #if compiler(>=6.5)
        return "swift>=6.5"
        #elseif compiler(>=6.4)
        return "swift-6.4"
        #elseif compiler(>=6.3)
        return "swift-6.3"
        #elseif compiler(>=6.2)
        return "swift-6.2"
        #else
        return "swift<6.2"
        #endif
    }

    static func read(_ path: String) -> String? {
        guard let s = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return s.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func field(_ name: String, in cpuinfo: String) -> String? {
        for line in cpuinfo.split(separator: "\n") where line.hasPrefix(name) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            guard key == name else { continue }
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    static func hostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count) == 0 else { return "unknown" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func kernelRelease() -> String {
        var u = utsname()
        guard uname(&u) == 0 else { return "unknown" }
        return withUnsafeBytes(of: u.release) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
    }
}
