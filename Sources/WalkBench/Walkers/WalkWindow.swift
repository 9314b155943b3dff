/// What a walker reports to while it walks: the oracle's log, and the one point inside the window where
/// validation may interfere (a strategy's `leafTableReached`, then an injected delay).
///
/// Walkers are generic over it, so with the oracle off and no injection every call compiles to nothing.
public protocol WalkWindow {
    static var oracleEnabled: Bool { get }
    /// The walker is about to read `table`, reached through an entry written at `generation`.
    mutating func followed(_ table: TableIndex, linkedAt generation: UInt32)
    /// The walker read a poisoned entry.
    mutating func sawPoison()
    /// The walker now holds references on a folio for its caller: the leaf it read mapped the folio at
    /// generation `mapped` (11 bits), the references were taken on it at generation `held`.
    mutating func tookPage(mapped: UInt32, held: UInt32)
    /// The walker has read the leaf entry and has no page reference yet: gup_fast's window between the
    /// pte load and try_grab_folio (forced page schedules stop here).
    mutating func leafRead()
    /// The walker holds a pointer to its last-level table and is about to read it: the widest point of
    /// the race every strategy closes.
    mutating func beforeLeafTable()
}

extension WalkWindow {
    @inline(__always) public mutating func tookPage(mapped: UInt32, held: UInt32) {}
    @inline(__always) public mutating func leafRead() {}
}

/// The runner's window: a strategy, the walking CPU, the oracle log, and an optional delay.
public struct Window<P: WalkProtection, L: OracleLog>: WalkWindow {
    public let protection: P
    public let cpu: Int
    public var log: L
    /// Spin this many timer ticks before the leaf-table read (validation only; needs the oracle on).
    public let delayTicks: UInt64
    public let timeBase: TimeBase

    public init(protection: P, cpu: Int, log: L, delayTicks: UInt64 = 0, timeBase: TimeBase = .fallback) {
        self.protection = protection
        self.cpu = cpu
        self.log = log
        self.delayTicks = delayTicks
        self.timeBase = timeBase
    }

    public static var oracleEnabled: Bool { L.enabled }

    @inline(__always) public mutating func followed(_ table: TableIndex, linkedAt generation: UInt32) {
        log.followed(table, linkedAt: generation)
    }

    @inline(__always) public mutating func sawPoison() { log.sawPoison() }

    @inline(__always) public mutating func tookPage(mapped: UInt32, held: UInt32) { log.tookPage(mapped: mapped, held: held) }

    @inline(__always) public mutating func leafRead() {}

    @inline(__always) public mutating func beforeLeafTable() {
        protection.leafTableReached(cpu: cpu)
        if L.enabled && delayTicks != 0 {
            let until = timeBase.now() &+ delayTicks
            while timeBase.now() < until { wb_cpu_relax() }
        }
    }
}

import CWalkSupport
