import Foundation

/// Named reference runs: results/baselines/NAME/<fingerprint id>.csv, one file per kind of machine, so
/// one name (say "main") can hold the CI host's numbers and a laptop's side by side.
public struct Baselines {
    public let directory: String

    public init(directory: String = "results/baselines") { self.directory = directory }

    public struct Entry: Sendable {
        public let name: String
        public let file: String
        public let fingerprintID: String
        public let rows: Int
        public let cells: Int
        public let processes: Int
        public let gitRevisions: [String]
        public let timestamps: [String]
    }

    /// Why `name` cannot name a baseline, or nil.
    public static func problem(name: String) -> String? {
        let ok = name.utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 45 || $0 == 46 || $0 == 95 }
        if name.isEmpty || !ok || name.hasPrefix(".") || name.contains("..") || name.count > 100 {
            return "baseline name \"\(name)\" is not allowed; use letters, digits, '-', '_' and '.', not starting with '.', no '/' or '..'"
        }
        return nil
    }

    public func path(name: String, fingerprintID: String) -> String { "\(directory)/\(name)/\(fingerprintID).csv" }

    public func exists(name: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: "\(directory)/\(name)", isDirectory: &isDir) && isDir.boolValue
    }

    /// The files `rows` would be saved as, one per fingerprint, with the rows of each. Checks everything
    /// (name, existing files) before anything is written, so a refusal leaves the disk untouched.
    public func plan(name: String, rows: [ResultRow], force: Bool) throws -> [(path: String, rows: [ResultRow])] {
        if let p = Self.problem(name: name) { throw ResultTable.BadInput(description: p) }
        guard !rows.isEmpty else { throw ResultTable.BadInput(description: "no rows to save") }
        var order: [String] = []
        var groups: [String: [ResultRow]] = [:]
        for r in rows {
            let id = Fingerprint(r).id
            if groups[id] == nil { order.append(id) }
            groups[id, default: []].append(r)
        }
        let out = order.map { (path: path(name: name, fingerprintID: $0), rows: groups[$0]!) }
        for (p, _) in out where FileManager.default.fileExists(atPath: p) && !force {
            throw ResultTable.BadInput(description: "baseline \(name) already has \(p); pass --force to replace it")
        }
        return out
    }

    /// Writes the planned files, each atomically.
    public func save(_ planned: [(path: String, rows: [ResultRow])], force: Bool) throws {
        for (p, rows) in planned {
            try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try ResultFile.write(Self.csv(rows), to: p, replace: force)
        }
    }

    /// The rows as CSV: the schema's columns, then every other column the rows carry, in first-seen order.
    public static func csv(_ rows: [ResultRow]) -> String {
        var extras: [String] = []
        var seen = Set<String>()
        for r in rows {
            for c in r.extraColumns where !seen.contains(c) {
                seen.insert(c)
                extras.append(c)
            }
        }
        let header = Columns.all + extras.sorted { a, b in
            // counters first, then callgrind's columns in their own order, as `bench run` writes them
            let ia = Callgrind.columns.firstIndex(of: a) ?? -1, ib = Callgrind.columns.firstIndex(of: b) ?? -1
            return ia == ib ? a < b : ia < ib
        }
        var text = CSV.line(header)
        for r in rows { text += CSV.line(r.fields(header)) }
        return text
    }

    /// Every baseline, by name.
    public func list() throws -> [Entry] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { exists(name: $0) }.sorted()
        var out: [Entry] = []
        for n in names {
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(n)")) ?? []).filter { $0.hasSuffix(".csv") }.sorted()
            for f in files {
                let rows = try ResultTable.load("\(directory)/\(n)/\(f)")
                out.append(Entry(name: n, file: "\(directory)/\(n)/\(f)", fingerprintID: String(f.dropLast(4)), rows: rows.count,
                                 cells: Set(rows.map(CellKey.init)).count,
                                 processes: Set(rows.map { CellSamples.processID($0) }).count,
                                 gitRevisions: Array(Set(rows.compactMap { $0["git_rev"] })).sorted(),
                                 timestamps: Array(Set(rows.compactMap { $0["timestamp_utc"] })).sorted()))
            }
        }
        return out
    }

    /// The rows of baseline `name` for `fingerprint`; with `anyFingerprint`, the only file there is when
    /// none matches. Bad input (no such baseline) throws; no file for this machine returns nil and the
    /// fingerprints that do exist.
    public func load(name: String, fingerprint: Fingerprint, anyFingerprint: Bool) throws -> (rows: [ResultRow]?, available: [String]) {
        if let p = Self.problem(name: name) { throw ResultTable.BadInput(description: p) }
        guard exists(name: name) else {
            throw ResultTable.BadInput(description: "no baseline named \(name) in \(directory) (bench baseline list shows them)")
        }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(name)")) ?? []).filter { $0.hasSuffix(".csv") }.sorted()
        let mine = path(name: name, fingerprintID: fingerprint.id)
        if FileManager.default.fileExists(atPath: mine) { return (try ResultTable.load(mine), files) }
        if anyFingerprint && files.count == 1 { return (try ResultTable.load("\(directory)/\(name)/\(files[0])"), files) }
        return (nil, files)
    }
}
