import Foundation

/// Rows read back from walkbench CSV files, checked before anything uses them: a file that is missing,
/// empty, truncated, not CSV, from another schema or holding non-numbers where numbers belong is bad
/// input, named with the file, line and column.
public enum ResultTable {
    public struct BadInput: Error, CustomStringConvertible {
        public let description: String
    }

    /// Columns that must hold a number wherever they are not empty.
    static let numericColumns: Set<String> = [
        "logical_cpus", "readers", "writers", "repetition", "duration_s", "walks", "walks_per_s", "ns_per_walk_p50",
        "ns_per_walk_p90", "ns_per_walk_p99", "ns_per_walk_mean", "writer_ops", "writer_latency_us_p50",
        "writer_latency_us_p99", "tables_freed", "tables_pending_peak", "uaf_detected", "ipis_sent",
        "writer_wait_us_p50", "writer_wait_us_p99", "grace_period_us_p50", "grace_period_us_p99", "bytes_pending_peak",
        "warmup_s", "process", "processes", "extra_work", "strategy_rev", "walker_rev", "workload_rev",
        "cg_ir_per_walk", "cg_bcm_per_walk", "cg_bim_per_walk", "cg_d1mr_per_walk", "cg_llmr_per_walk",
    ]

    /// The rows of one file. `olderSchema`: accept a file from an older bench that lacks appended
    /// columns (reports and exports show what it has; comparisons and checks still refuse it).
    public static func load(_ path: String, olderSchema: Bool = false) throws -> [ResultRow] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw BadInput(description: "\(path): no such file")
        }
        guard !isDir.boolValue else { throw BadInput(description: "\(path): is a directory, not a CSV file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw BadInput(description: "\(path): cannot be read") }
        return try parse(data, name: path, olderSchema: olderSchema)
    }

    public static func parse(_ data: Data, name: String, olderSchema: Bool = false) throws -> [ResultRow] {
        guard !data.isEmpty else { throw BadInput(description: "\(name): empty file; expected a walkbench CSV") }
        guard let text = String(data: data, encoding: .utf8) else { throw BadInput(description: "\(name): not UTF-8 text; expected a walkbench CSV") }
        let table = CSV.parse(text)
        guard let header = table.first, header.count > 1 else {
            throw BadInput(description: "\(name): not a walkbench CSV (no header with the columns run_id, timestamp_utc, ...)")
        }
        let missingLeading = Columns.leading.filter { !header.contains($0) }
        if !missingLeading.isEmpty {
            if missingLeading.count == Columns.leading.count {
                throw BadInput(description: "\(name): not a walkbench CSV (its header has none of run_id, timestamp_utc, host, ...)")
            }
            throw BadInput(description: "\(name): header lacks the frozen column\(missingLeading.count == 1 ? "" : "s") \(missingLeading.prefix(3).joined(separator: ", "))\(missingLeading.count > 3 ? ", ..." : "")")
        }
        if header.prefix(Columns.leading.count).elementsEqual(Columns.leading) == false {
            throw BadInput(description: "\(name): the frozen leading columns are out of order (expected \(Columns.leading.prefix(4).joined(separator: ", ")), ...)")
        }
        let missing = Columns.appended.filter { !header.contains($0) && !Columns.optional.contains($0) }
        if let first = missing.first, !olderSchema {
            throw BadInput(description: "\(name): lacks the column \(first)\(missing.count > 1 ? " and \(missing.count - 1) more" : ""): written by an older bench; rerun it with this one")
        }
        guard table.count > 1 else { throw BadInput(description: "\(name): a header and no rows") }
        let numericIndices = header.enumerated().filter { numericColumns.contains($0.element) }
        let slots = Columns.slots(of: header)
        var rows: [ResultRow] = []
        rows.reserveCapacity(table.count - 1)
        for (i, fields) in table.dropFirst().enumerated() {
            let line = i + 2
            guard fields.count == header.count else {
                throw BadInput(description: "\(name): line \(line) has \(fields.count) fields, the header \(header.count) (truncated or edited?)")
            }
            for (c, column) in numericIndices where !fields[c].isEmpty && Double(fields[c]) == nil {
                throw BadInput(description: "\(name): line \(line), column \(column): \"\(fields[c])\" is not a number")
            }
            rows.append(ResultRow(slotsOf: slots, header: header, fields: fields))
        }
        return rows
    }
}
