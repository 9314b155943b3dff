import Foundation

/// The fuzz targets' plain mode: feed every file named (or inside the directories named) to `body`,
/// so a corpus, crash reproducers included, replays without libFuzzer.
public enum ReplayCorpus {
    public static func files(_ paths: some Sequence<String>) -> [String] {
        var out: [String] = []
        for p in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else { continue }
            if isDir.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: p)) ?? []
                out += names.sorted().map { p + "/" + $0 }
            } else {
                out.append(p)
            }
        }
        return out
    }

    public static func run(_ paths: some Sequence<String>, _ body: (Data) -> Void) {
        let all = files(paths)
        for f in all { if let d = FileManager.default.contents(atPath: f) { body(d) } }
        print("replayed \(all.count) input\(all.count == 1 ? "" : "s")")
    }
}
