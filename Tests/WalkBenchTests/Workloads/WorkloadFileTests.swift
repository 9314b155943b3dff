import Foundation
import Testing
@testable import WalkBench

@Suite struct WorkloadFileTests {
    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wl-\(UUID().uuidString).json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func failure(_ text: String) throws -> String {
        let path = try write(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do { _ = try WorkloadFile.load(path); return "" } catch { return "\(error)" }
    }

    @Test func validFileOverridesThePreset() throws {
        let path = try write(#"{"name": "storm-sparse", "kind": "unmap-storm", "mapped": "256MiB", "density": 0.25, "huge_fraction": 0, "writer_delay_ns": 2000, "readers": 2, "writers": 3}"#)
        let ws = try WorkloadFile.load(path)
        #expect(ws.count == 1)
        let w = ws[0]
        #expect(w.name == "storm-sparse" && w.kind == "unmap-storm")
        #expect(w.mappedBytes == 256 << 20 && w.density == 0.25 && w.hugeFraction == 0)
        #expect(w.writerDelayNanoseconds == 2000 && w.readers == 2 && w.writers == 3)
    }

    @Test func readerIdleTime() throws {
        let ws = try WorkloadFile.load(try write(#"{"name": "quiet", "kind": "read-mostly", "writers": 1, "reader_idle_ns": 200000}"#))
        #expect(ws[0].readerIdleNanoseconds == 200_000)
        #expect(try WorkloadFile.load(try write(#"{"name": "z", "kind": "zap-churn"}"#))[0].readerIdleNanoseconds == ZapChurn.preset.readerIdleNanoseconds)
        #expect(try failure(#"{"name": "w", "kind": "zap-churn", "reader_idle_ns": 1.5}"#).contains(#"key "reader_idle_ns" = 1.5"#))
    }

    @Test func pteFolioOrder() throws {
        #expect(try WorkloadFile.load(try write(#"{"name": "m", "kind": "thp-churn", "pte_folio_order": 4}"#))[0].pteFolioOrder == 4)
        #expect(try failure(#"{"name": "m", "kind": "thp-churn", "pte_folio_order": 9}"#).contains(#"key "pte_folio_order" = 9"#))
        // A geometry whose PTE tables are smaller than the folio refuses it before anything runs.
        var w = ThpChurn.preset
        w.pteFolioOrder = 8
        guard case .failure(let f) = Runner.vma(for: w, geometry: .s390_3level) else { Issue.record("accepted"); return }
        #expect(f.description.contains("pte_folio_order 8"))
    }

    @Test func arrayOfWorkloads() throws {
        let path = try write(#"[{"name": "a", "kind": "read-mostly"}, {"name": "b", "kind": "thp-churn", "mapped": 8388608}]"#)
        let ws = try WorkloadFile.load(path)
        #expect(ws.map(\.name) == ["a", "b"])
        #expect(ws[0].mappedBytes == ReadMostly.preset.mappedBytes)
        #expect(ws[1].mappedBytes == 8 << 20)
    }

    @Test func theShippedExampleIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let ws = try WorkloadFile.load(root.appendingPathComponent("workloads/example.json").path)
        #expect(!ws.isEmpty)
    }

    @Test func errorsNameTheKeyAndTheValue() throws {
        #expect(try failure(#"{"name": "w", "kind": "unmap-storm", "density": 1.5}"#).contains(#"key "density" = 1.5"#))
        #expect(try failure(#"{"name": "w", "kind": "unmap-storm", "bogus_key": 1}"#).contains("bogus_key"))
        #expect(try failure(#"{"name": "w", "kind": "tornado"}"#).contains(#""tornado""#))
        #expect(try failure(#"{"name": "w", "kind": "unmap-storm", "readers": 0}"#).contains(#"key "readers" = 0"#))
        #expect(try failure(#"{"name": "w", "kind": "unmap-storm", "readers": true}"#).contains(#"key "readers" = true"#))
        #expect(try failure(#"{"name": "w", "kind": "unmap-storm", "mapped": "12XB"}"#).contains("12XB"))
        #expect(try failure(#"{"name": "w w", "kind": "unmap-storm"}"#).contains(#"key "name""#))
        #expect(try failure(#"{"kind": "unmap-storm"}"#).contains(#"missing key "name""#))
        #expect(try failure(#"{"name": "w""#).contains("not valid JSON"))
        #expect(try failure("[]").contains("no workloads"))
    }

    @Test func sizes() {
        #expect(WorkloadFile.size(.string("64MiB")) == 64 << 20)
        #expect(WorkloadFile.size(.string("1TiB")) == 1 << 40)
        #expect(WorkloadFile.size(.number(4096)) == 4096)
        #expect(WorkloadFile.size(.string("4096")) == 4096)
        #expect(WorkloadFile.size(.string("1.5GiB")) == nil)
        #expect(WorkloadFile.size(.number(-1)) == nil)
    }
}
