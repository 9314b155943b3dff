#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed libc call, with the call's name so the one line a user sees says what failed.
public struct SystemCallError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let errno: Int32
    public var description: String { "\(call): \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// The one wrapper every libc call goes through (DESIGN §5): POSIX-style calls return -1 and set errno.
@discardableResult
public func sysCall(_ name: String, _ body: () -> Int32) throws -> Int32 {
    let rc = body()
    if rc == -1 { throw SystemCallError(call: name, errno: errno) }
    return rc
}

/// For calls that return an errno value instead of setting errno (pthread_*).
public func pthreadCall(_ name: String, _ body: () -> Int32) throws {
    let rc = body()
    if rc != 0 { throw SystemCallError(call: name, errno: rc) }
}
