import Foundation

/// A small tmpfs to fill for real: a full disk without filling the machine's. Mounting one
/// needs root (as CI's runner has); callers skip with ``unavailableReason`` otherwise.
public enum SmallDisk {
    /// Whether this process can mount a tmpfs: tried once.
    public static let available: Bool = {
        let directory = makeTemporaryDirectory(prefix: "eventflow-disk-probe")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard run("/bin/mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", directory) else { return false }
        return run("/bin/umount", directory)
    }()

    public static let unavailableReason = "mounting a small tmpfs needs root"

    /// Mounts a tmpfs of `megabytes` at a new directory, runs `body` with it, and unmounts it.
    public static func with<T>(megabytes: Int, _ body: (String) async throws -> T) async throws -> T {
        let directory = makeTemporaryDirectory(prefix: "eventflow-small-disk")
        guard run("/bin/mount", "-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", directory) else {
            throw SpawnError("mounting a tmpfs of \(megabytes) MiB at \(directory) failed (\(unavailableReason))")
        }
        defer {
            run("/bin/umount", "-l", directory)
            try? FileManager.default.removeItem(atPath: directory)
        }
        return try await body(directory)
    }

    @discardableResult
    static func run(_ command: String, _ arguments: String...) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return false
        }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
