import EventflowLog
import EventflowTesting
import Foundation
import NIOCore
import Testing

@Suite struct SQLiteWALTests {
    /// The data directory and every database file are this user's alone.
    @Test func dataFilesAreReadableByTheirOwnerOnly() async throws {
        let directory = temporaryDirectory() + "/data"
        try await withLog(.directory(directory)) { storage, _ in
            _ = try await storage.log.append(stream: "events", records: [LogRecord(id: "a", key: nil, eventTimeMs: nil, body: ByteBuffer(string: "{}"))])
            func permissions(_ path: String) throws -> Int {
                try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
            }
            #expect(try permissions(directory) == 0o700)
            for file in ["eventflow.sqlite", "eventflow.sqlite-wal", "eventflow.sqlite-shm"] {
                #expect(try permissions(directory + "/" + file) == 0o600, "\(file)")
            }
        }
    }

    /// Commits follow each other without a pause (four writers) while a reader reads all
    /// the time, as at peak load: the WAL must still start over from its beginning now and
    /// then, instead of growing by everything written (160 MiB of 2 KB records here).
    @Test func walStartsOverUnderSteadyCommits() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let walPath = directory + "/eventflow.sqlite-wal"
        let body = ByteBuffer(repeating: UInt8(ascii: "f"), count: 2_000)
        var largest = 0
        try await withLog(.directory(directory)) { storage, _ in
            let reader = Task {
                var offset: Int64 = 0
                while !Task.isCancelled {
                    let read = try await storage.log.read(stream: "frames", from: offset, limit: 100, bodies: true)
                    offset = read.last.map { $0.offset + 1 } ?? 0
                }
            }
            defer { reader.cancel() }
            largest = try await withThrowingTaskGroup(of: Int.self) { tasks in
                for writer in 0..<4 {
                    tasks.addTask {
                        var largest = 0
                        for batch in 0..<80 {
                            let records = (0..<250).map { LogRecord(id: "\(writer)-\(batch)-\($0)", body: body) }
                            _ = try await storage.log.append(stream: "frames", records: records)
                            let size = (try? FileManager.default.attributesOfItem(atPath: walPath)[.size] as? Int) ?? 0
                            largest = max(largest, size)
                        }
                        return largest
                    }
                }
                return try await tasks.reduce(0, max)
            }
        }
        #expect(largest > 0)
        #expect(largest < 96 << 20, "the WAL grew to \(largest >> 20) MiB")
    }
}
