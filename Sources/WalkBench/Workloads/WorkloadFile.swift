import Foundation

/// Workloads from a JSON file: one object, or an array of objects.
///
/// ```json
/// { "name": "storm-sparse", "kind": "unmap-storm", "mapped": "256MiB", "density": 0.25,
///   "huge_fraction": 0, "writer_delay_ns": 2000, "reader_idle_ns": 0, "readers": 2, "writers": 1 }
/// ```
/// Every key but `name` and `kind` is optional and defaults to the kind's preset. Sizes are bytes or a
/// string with a KiB/MiB/GiB/TiB suffix. Unknown keys are errors, so a typo is never silently ignored.
public enum WorkloadFile {
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    static let keys = ["name", "kind", "summary", "mapped", "density", "huge_fraction", "pte_folio_order", "writer_delay_ns", "reader_idle_ns", "readers", "writers"]

    /// The workloads defined by `paths`, in order, checked against each other and the built-ins: names
    /// from files are first-class (`--workloads` selects them, `bench list --workload-file` lists them),
    /// so they share one namespace with the built-ins and a name defined twice is an error.
    public static func loadAll(_ paths: [String]) throws -> [Workload] {
        var defined = Set(Workloads.names)
        var loaded: [Workload] = []
        for path in paths {
            for w in try load(path) {
                guard defined.insert(w.name).inserted else {
                    let builtIn = Workloads.names.contains(w.name)
                    throw Invalid(description: "workload file \(path): workload \"\(w.name)\" is defined twice (\(builtIn ? "a built-in has that name" : "another workload file defines it"); built-ins and workload files share one namespace); name each workload once")
                }
                loaded.append(w)
            }
        }
        return loaded
    }

    public static func load(_ path: String) throws -> [Workload] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Invalid(description: "workload file \(path): cannot be read")
        }
        return try parse(data, name: path)
    }

    /// The workloads in a file's bytes; `name` is what messages call the file.
    public static func parse(_ data: Data, name path: String) throws -> [Workload] {
        let json: JSONValue
        do { json = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw Invalid(description: "workload file \(path): not valid JSON")
        }
        let objects: [JSONValue]
        if case .array(let a) = json { objects = a } else { objects = [json] }
        guard !objects.isEmpty else { throw Invalid(description: "workload file \(path): no workloads in it") }
        return try objects.enumerated().map { i, o in
            guard case .object(let dict) = o else {
                throw Invalid(description: "workload file \(path): entry \(i) is not a JSON object")
            }
            return try parse(dict, where: "workload file \(path)")
        }
    }

    public static func parse(_ dict: [String: JSONValue], where context: String) throws -> Workload {
        func bad(_ key: String, _ value: JSONValue, _ allowed: String) -> Invalid {
            Invalid(description: "\(context): key \"\(key)\" = \(render(value)); allowed: \(allowed)")
        }
        for key in dict.keys.sorted() where !keys.contains(key) {
            throw bad(key, dict[key]!, "one of the keys \(keys.joined(separator: ", "))")
        }
        guard let kindValue = dict["kind"] else { throw Invalid(description: "\(context): missing key \"kind\" (one of \(Workloads.kinds.map { $0.name }.joined(separator: ", ")))") }
        guard case .string(let kindName) = kindValue, let kind = Workloads.kind(named: kindName) else {
            throw bad("kind", kindValue, Workloads.kinds.map { $0.name }.joined(separator: ", "))
        }
        guard let nameValue = dict["name"] else { throw Invalid(description: "\(context): missing key \"name\"") }
        guard case .string(let name) = nameValue, isName(name) else {
            throw bad("name", nameValue, "letters, digits, '-', '_' and '.', 1 to 64 characters")
        }
        var w = kind.preset
        w.name = name
        if case .string(let summary)? = dict["summary"] { w.summary = summary } else { w.summary = "from a workload file: \(kindName)" }
        if let v = dict["mapped"] {
            guard let bytes = size(v), bytes > 0, bytes <= 1 << 50 else { throw bad("mapped", v, "a size from 1 byte to 1 PiB, e.g. 1048576 or \"64MiB\"") }
            w.mappedBytes = bytes
        }
        if let v = dict["density"] {
            guard let d = number(v), d > 0, d <= 1 else { throw bad("density", v, "a number in (0, 1]") }
            w.density = d
        }
        if let v = dict["huge_fraction"] {
            guard let d = number(v), d >= 0, d <= 1 else { throw bad("huge_fraction", v, "a number in [0, 1]") }
            w.hugeFraction = d
        }
        if let v = dict["writer_delay_ns"] {
            guard let d = integer(v), d >= 0, d <= 10_000_000_000 else { throw bad("writer_delay_ns", v, "an integer from 0 to 10000000000") }
            w.writerDelayNanoseconds = UInt64(d)
        }
        if let v = dict["pte_folio_order"] {
            guard let d = integer(v), d >= 0, d <= Workload.maxPTEFolioOrder else {
                throw bad("pte_folio_order", v, "an integer from 0 (small pages) to \(Workload.maxPTEFolioOrder) (mTHP: pages per folio = 2^order)")
            }
            w.pteFolioOrder = Int(d)
        }
        if let v = dict["reader_idle_ns"] {
            guard let d = integer(v), d >= 0, d <= 1_000_000_000 else { throw bad("reader_idle_ns", v, "an integer from 0 to 1000000000") }
            w.readerIdleNanoseconds = UInt64(d)
        }
        if let v = dict["readers"] {
            guard let d = integer(v), d >= 1, d <= 1024 else { throw bad("readers", v, "an integer from 1 to 1024") }
            w.readers = Int(d)
        }
        if let v = dict["writers"] {
            guard let d = integer(v), d >= 0, d <= 64 else { throw bad("writers", v, "an integer from 0 to 64") }
            w.writers = Int(d)
        }
        return w
    }

    static func isName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64 && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    static func number(_ v: JSONValue) -> Double? {
        if case .number(let d) = v { return d }
        return nil
    }

    static func integer(_ v: JSONValue) -> Int64? {
        guard let d = number(v), d == d.rounded(), abs(d) < 1e18 else { return nil }
        return Int64(d)
    }

    /// Bytes from an integer or a string such as "64MiB", "1GiB", "4096".
    public static func size(_ v: JSONValue) -> UInt64? {
        if let i = integer(v) { return i >= 0 ? UInt64(i) : nil }
        guard case .string(let s) = v else { return nil }
        let units: [(String, UInt64)] = [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)]
        for (suffix, scale) in units where s.hasSuffix(suffix) {
            guard let n = UInt64(s.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)) else { return nil }
            let (r, overflow) = n.multipliedReportingOverflow(by: scale)
            return overflow ? nil : r
        }
        return UInt64(s)
    }

    static func render(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return "\"\(s)\""
        case .bool(let b): return b ? "true" : "false"
        case .number(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .null: return "null"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// A JSON value with its type kept (JSONSerialization on Linux cannot tell true from 1).
public enum JSONValue: Decodable, Sendable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }
}
