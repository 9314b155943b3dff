import Synchronization

/// A set of simulated CPUs. As mm_cpumask: the CPUs that have run this mm, set when a CPU switches to
/// the mm and, under the x86 policy, cleared when it switches away (powerpc only ever sets them). As
/// the mm's lazy set: the CPUs that still have it loaded while running the idle task
/// (cpu_tlbstate_shared.is_lazy, kept here per mm because a run has one mm per CPU).
public final class CPUMask: @unchecked Sendable {
    // @unchecked Sendable: every word is an atomic.
    public static let maxCPUs = 2048
    private let words: UnsafeMutablePointer<Atomic<UInt64>>
    private let wordCount = maxCPUs / 64

    public init() {
        words = .allocate(capacity: wordCount)
        for i in 0..<wordCount { (words + i).initialize(to: Atomic(0)) }
    }

    deinit { words.deallocate() }

    public func set(_ cpu: Int) {
        precondition(cpu >= 0 && cpu < Self.maxCPUs)
        words[cpu / 64].bitwiseOr(1 << UInt64(cpu % 64), ordering: .sequentiallyConsistent)
    }

    public func clear(_ cpu: Int) {
        precondition(cpu >= 0 && cpu < Self.maxCPUs)
        words[cpu / 64].bitwiseAnd(~(1 << UInt64(cpu % 64)), ordering: .sequentiallyConsistent)
    }

    public func contains(_ cpu: Int) -> Bool {
        words[cpu / 64].load(ordering: .sequentiallyConsistent) & (1 << UInt64(cpu % 64)) != 0
    }

    /// A snapshot, as a flush takes one before sending its IPIs.
    public func snapshot() -> [Int] { split(by: nil).outside }

    /// One snapshot split in two: the CPUs also in `other` (the lazy ones, which a flush that frees
    /// nothing skips) and the rest. Each word is read once, so a CPU is in exactly one of the two.
    public func split(by other: CPUMask?) -> (outside: [Int], inside: [Int]) {
        var outside: [Int] = [], inside: [Int] = []
        for w in 0..<wordCount {
            let bits = words[w].load(ordering: .sequentiallyConsistent)
            guard bits != 0 else { continue }
            let marked = other.map { bits & $0.words[w].load(ordering: .sequentiallyConsistent) } ?? 0
            Self.append(bits & ~marked, word: w, to: &outside)
            Self.append(marked, word: w, to: &inside)
        }
        return (outside, inside)
    }

    /// `cpus` split into those not in `mask` and those in it (one read of each bit).
    public static func partition(_ cpus: [Int], by mask: CPUMask) -> (outside: [Int], inside: [Int]) {
        var outside: [Int] = [], inside: [Int] = []
        for c in cpus { if mask.contains(c) { inside.append(c) } else { outside.append(c) } }
        return (outside, inside)
    }

    private static func append(_ bits: UInt64, word: Int, to cpus: inout [Int]) {
        var bits = bits
        while bits != 0 {
            cpus.append(word * 64 + bits.trailingZeroBitCount)
            bits &= bits - 1
        }
    }
}
