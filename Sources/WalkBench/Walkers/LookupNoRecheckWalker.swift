/// `lookup-no-recheck`: `lookup` without gup_fast's re-check after the try-get. Validation only.
///
/// What the re-check is for: between the walker's read of the leaf and its try-get, the page can be
/// unmapped, freed and reused (THP collapse frees the small pages it copied). Without a re-check the
/// walker hands its caller the reused page, a use-after-free of the data page that no table-freeing
/// strategy prevents: the table is still there, only the page moved on. `bench validate` forces that
/// schedule and expects the page oracle to catch it under the strategies that do not hold the
/// collapse back (RCU); under IPI strategies the collapse waits for the walker and nothing is freed.
public struct LookupNoRecheckWalker: PageWalker {
    public static let name = "lookup-no-recheck"
    /// Bumped when what this walker measures changes meaning; `bench compare` never compares across revisions.
    public static let revision = 1
    public static let summary = "lookup without the re-check after the try-get (validation: the page can be freed and reused under it)"
    public static var validationOnly: Bool { true }

    var core: Lookup

    public init(mm: AddressSpace, options: WalkOptions) { core = Lookup(mm: mm, options: options) }

    public var oracleCapacity: Int { LevelMath.maxLevels }

    @inline(__always)
    public mutating func walk<Win: WalkWindow>(at address: UInt64, window: inout Win) -> WalkResult {
        core.walk(at: address, window: &window, recheck: false)
    }

    @inline(__always) public mutating func releasePages(_ result: WalkResult) { core.release(result) }
}
