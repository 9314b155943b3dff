/// RFC 4180 CSV: fields with a comma, quote, CR or LF are quoted, quotes doubled; lines end in CRLF
/// only where the RFC asks for it in fields; rows end in "\n" (what every reader here accepts).
public enum CSV {
    public static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    public static func line(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\n"
    }

    /// Parses CSV text into rows of fields (quoted fields may hold commas, quotes and newlines). Works
    /// on UTF-8 bytes: every delimiter is ASCII, and a 20,000-row file must parse in well under a second.
    public static func parse(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field: [UInt8] = []
        var inQuotes = false
        var fieldStarted = false
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        var text = text
        text.withUTF8 { bytes in
            var i = 0
            let n = bytes.count
            while i < n {
                let c = bytes[i]
                i += 1
                if inQuotes {
                    if c == quote {
                        if i < n && bytes[i] == quote { field.append(quote); i += 1 } else { inQuotes = false }
                    } else { field.append(c) }
                    continue
                }
                switch c {
                case quote: inQuotes = true; fieldStarted = true
                case comma:
                    row.append(String(decoding: field, as: UTF8.self)); field.removeAll(keepingCapacity: true)
                    fieldStarted = true
                case lf:
                    row.append(String(decoding: field, as: UTF8.self)); field.removeAll(keepingCapacity: true)
                    rows.append(row); row = []; fieldStarted = false
                case cr: continue
                default: field.append(c); fieldStarted = true
                }
            }
        }
        if fieldStarted || !field.isEmpty || !row.isEmpty { row.append(String(decoding: field, as: UTF8.self)); rows.append(row) }
        return rows
    }
}

import Foundation
