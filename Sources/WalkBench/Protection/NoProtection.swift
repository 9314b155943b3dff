/// `none`: walkers do nothing, writers free a table the moment they unlink it.
///
/// Kernel analogue: none; this is the bug every real scheme exists to prevent (a walker that loaded a
/// pmd before pmd_clear reads the PTE page after pte_free).
///
/// Guarantee: none. Under writer pressure the oracle must report use-after-free here, or it is blind.
///
/// Why not the alternative: it is the floor. Its walk cost is the cost of the walk itself, against
/// which every other strategy's reader overhead is measured.
public final class NoProtection: WalkProtection {
    public static let name = "none"
    /// Bumped when what this strategy measures changes meaning; `bench compare` never compares across revisions.
    public static let revision = 1
    public static let summary = "no protection: tables freed at unlink (the baseline; must trip the oracle)"
    public static let kernel = "none: the unprotected baseline (the oracle must see its use-after-frees)"
    public static let guaranteesSafety = false

    private let pool: TablePool

    public init(_ context: ProtectionContext) { pool = context.mm.pool }

    @inline(__always) public func beginWalk(cpu: Int) {}
    @inline(__always) public func endWalk(cpu: Int) {}

    public func retire(_ table: TableIndex, cpu: Int) { pool.free(table) }
    public func flush(cpu: Int) {}
    public func drain() {}
}
