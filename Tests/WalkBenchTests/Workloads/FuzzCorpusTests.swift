import Foundation
import Testing
@testable import WalkBench

/// The fuzzers' corpora (seeds and every crash found, Tests/FuzzCorpus) replayed through the parsers:
/// each input parses or is refused with the parser's own error, and never crashes.
@Suite struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("FuzzCorpus").path

    @Test func workloadFileCorpus() throws {
        let files = ReplayCorpus.files([Self.corpus + "/workload-file"])
        #expect(files.count >= 6)
        var accepted = 0
        for f in files {
            let data = try #require(FileManager.default.contents(atPath: f))
            do { accepted += try WorkloadFile.parse(data, name: f).count } catch is WorkloadFile.Invalid {}
        }
        #expect(accepted >= 3, "the seeds that are valid must parse")
    }

    @Test func resultsCSVCorpus() throws {
        let files = ReplayCorpus.files([Self.corpus + "/results-csv"])
        #expect(files.count >= 4)
        var accepted = 0
        for f in files {
            let data = try #require(FileManager.default.contents(atPath: f))
            do { accepted += try ResultTable.parse(data, name: f).count } catch is ResultTable.BadInput {}
        }
        #expect(accepted >= 2, "two-rows.csv must parse")
    }
}
