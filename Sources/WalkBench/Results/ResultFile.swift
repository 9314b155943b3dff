#if canImport(Glibc)
import Glibc
#endif
import CWalkSupport
import Foundation

/// Writes a file whole or not at all, and never replaces one silently: the bytes go to a temporary
/// file in the same directory, are synced, and are then renamed into place with RENAME_NOREPLACE
/// (or, when the caller asked to replace, a plain rename).
public enum ResultFile {
    public enum WriteError: Error, CustomStringConvertible {
        case exists(String)
        case system(SystemCallError, path: String)
        public var description: String {
            switch self {
            case .exists(let p): return "\(p) exists; pass --force to replace it"
            case .system(let e, let p): return "\(p): \(e)"
            }
        }
    }

    /// Writes `text` to `path`, or, with `nextFreeName`, to the first of path, path-2, path-3, ... that
    /// does not exist yet (two runs that picked the same default name both keep their rows). Returns
    /// the path written.
    @discardableResult
    public static func write(_ text: String, to path: String, nextFreeName: Bool) throws -> String {
        guard nextFreeName else {
            try write(text, to: path, replace: false)
            return path
        }
        let stem = (path as NSString).deletingPathExtension, ext = (path as NSString).pathExtension
        for n in 1...1000 {
            let candidate = n == 1 ? path : "\(stem)-\(n)" + (ext.isEmpty ? "" : ".\(ext)")
            do {
                try write(text, to: candidate, replace: false)
                return candidate
            } catch WriteError.exists {
                continue
            }
        }
        throw WriteError.exists(path)
    }

    public static func write(_ text: String, to path: String, replace: Bool = false) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = (dir.isEmpty ? "." : dir) + "/.tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-" + (path as NSString).lastPathComponent
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WriteError.system(SystemCallError(call: "open", errno: errno), path: tmp) }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                close(fd)
                throw WriteError.system(SystemCallError(call: "write", errno: e), path: tmp)
            }
            done += n
        }
        if fsync(fd) != 0 {
            let e = errno
            close(fd)
            throw WriteError.system(SystemCallError(call: "fsync", errno: e), path: tmp)
        }
        close(fd)
        if replace {
            guard rename(tmp, path) == 0 else { throw WriteError.system(SystemCallError(call: "rename", errno: errno), path: path) }
        } else if wb_rename_noreplace(tmp, path) != 0 {
            if errno == EEXIST { throw WriteError.exists(path) }
            throw WriteError.system(SystemCallError(call: "renameat2", errno: errno), path: path)
        }
        ok = true
    }

    /// Why `path` cannot be written as an output file, or nil if it can. Checked before measuring, so
    /// nothing is measured for a file that cannot be written: the directory must exist and take a new
    /// file (probed by creating and removing one, which catches /proc, read-only mounts and the like
    /// that access(2) lets through), and the path must not be a directory.
    public static func problem(writing path: String, replace: Bool) -> String? {
        let dir = (path as NSString).deletingLastPathComponent
        let d = dir.isEmpty ? "." : dir
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: d, isDirectory: &isDir), isDir.boolValue else {
            return "output directory \(d) does not exist"
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue { return "output \(path) is a directory; name a file" }
            if !replace { return "output file \(path) exists; pass --force to replace it" }
        }
        let probe = d + "/.probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return "cannot create files in output directory \(d): \(String(cString: strerror(errno)))" }
        close(fd)
        unlink(probe)
        return nil
    }
}
