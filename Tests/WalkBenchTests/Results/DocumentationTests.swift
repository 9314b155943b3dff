// The README and docs/ against the program and the repository: the CSV column table must be the
// header `bench run` writes, and every relative link must resolve to a file in this repository.

import Foundation
import Testing
@testable import WalkBench

/// The repository's root, found from this file's path (Tests/WalkBenchTests/Results/ is three down).
private let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

private func text(_ relative: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent(relative), encoding: .utf8)
}

/// The Markdown files a user reads: README.md, everything under docs/, and the READMEs of Fuzz/ and results/.
private func documents() throws -> [String] {
    let docs = repositoryRoot.appendingPathComponent("docs")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: docs.path)) ?? []
    let others = ["Fuzz/README.md", "results/README.md"].filter {
        FileManager.default.fileExists(atPath: repositoryRoot.appendingPathComponent($0).path)
    }
    return ["README.md"] + names.filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 } + others
}

/// The column names listed in the first cell of each row of README's "CSV columns" table, in order.
/// "`ns_per_walk_p50/p90/p99`" stands for three names that share the part before the last "_".
func readmeColumnTable(_ readme: String) -> [String] {
    guard let start = readme.range(of: "### CSV columns") else { return [] }
    let section = readme[start.upperBound...]
    let end = section.range(of: "\n## ")?.lowerBound ?? section.endIndex
    var names: [String] = []
    for line in section[..<end].split(separator: "\n") where line.hasPrefix("| `") {
        let cell = line.split(separator: "|", omittingEmptySubsequences: true)[0]
        for token in cell.split(separator: ",") {
            let name = token.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            let parts = name.split(separator: "/").map(String.init)
            guard let first = parts.first else { continue }
            names.append(first)
            if parts.count > 1, let cut = first.lastIndex(of: "_") {
                let stem = first[...cut]
                names += parts.dropFirst().map { stem + $0 }
            }
        }
    }
    return names
}

/// Relative link targets in Markdown text: `[text](target)`, without the #fragment; web and mail
/// links and pure fragments are left out.
func relativeLinks(_ markdown: String) -> [String] {
    var out: [String] = []
    var rest = markdown[...]
    while let open = rest.range(of: "](") {
        let after = rest[open.upperBound...]
        guard let close = after.firstIndex(of: ")") else { break }
        var target = String(after[..<close]).trimmingCharacters(in: .whitespaces)
        rest = after[close...]
        if let space = target.firstIndex(of: " ") { target = String(target[..<space]) }  // [x](path "title")
        if target.hasPrefix("http://") || target.hasPrefix("https://") || target.hasPrefix("mailto:") || target.hasPrefix("#") { continue }
        if let hash = target.firstIndex(of: "#") { target = String(target[..<hash]) }
        if !target.isEmpty { out.append(target) }
    }
    return out
}

@Suite("documentation")
struct DocumentationTests {
    @Test("README's CSV column table is the header bench run writes, in its order")
    func columnTableMatchesHeader() throws {
        let listed = readmeColumnTable(try text("README.md"))
        #expect(listed == Columns.all, "README lists \(listed.count) columns, the header has \(Columns.all.count); first difference at \(zip(listed, Columns.all).enumerated().first { $0.element.0 != $0.element.1 }.map { "position \($0.offset): README \($0.element.0), header \($0.element.1)" } ?? "the end")")
    }

    @Test("the column-table reader expands a/b/c and would see a reordering")
    func columnTableReader() {
        let sample = "### CSV columns\n\n| column | meaning |\n|---|---|\n| `a_p50/p99`, `b` | x |\n| `c` | y |\n\n## Next\n| `d` | z |\n"
        #expect(readmeColumnTable(sample) == ["a_p50", "a_p99", "b", "c"])
        #expect(readmeColumnTable(sample.replacingOccurrences(of: "`a_p50/p99`, `b`", with: "`b`, `a_p50/p99`")) != ["a_p50", "a_p99", "b", "c"])
    }

    @Test("every relative link in README.md, docs/ and the other READMEs resolves inside the repository")
    func relativeLinksResolve() throws {
        let docs = try documents()
        #expect(docs.count > 1, "docs/ has no Markdown files")
        let root = repositoryRoot.standardizedFileURL.path
        for doc in docs {
            let base = repositoryRoot.appendingPathComponent(doc).deletingLastPathComponent()
            for link in relativeLinks(try text(doc)) {
                let target = base.appendingPathComponent(link.removingPercentEncoding ?? link).standardizedFileURL
                #expect(!link.contains("shared/"), "\(doc) links to \(link): ../shared is not part of the repository")
                #expect(target.path.hasPrefix(root + "/"), "\(doc) links to \(link), outside the repository")
                #expect(FileManager.default.fileExists(atPath: target.path), "\(doc) links to \(link), which does not exist")
            }
        }
    }

    @Test("the link reader finds relative links and skips web links and fragments")
    func linkReader() {
        let md = "see [a](docs/a.md#x), [b](https://kernel.org/x), [c](#top), [d](../shared/KERNEL.md \"t\")"
        #expect(relativeLinks(md) == ["docs/a.md", "../shared/KERNEL.md"])
    }
}
