@testable import EventflowLog
import EventflowTesting
import Foundation
import Logging
import Synchronization
import Testing

/// Other collectors' commits reach a process as notifications, not by polling.
@Suite struct PostgresHeadsWatchTests {
    /// The watch reads the heads once when it subscribes and then learns each commit from its
    /// notification alone (it never reads the heads again): an append by a log opened
    /// elsewhere arrives at the watch.
    @Test func aCommitReachesTheWatchAsANotification() async throws {
        let location = try await LogBackend.postgres.fresh()
        guard case .postgres(let url) = location else { return }
        let seen = Mutex<[String: Int64]>([:])
        let (changes, change) = AsyncStream.makeStream(of: Void.self)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let watch = PostgresHeadsWatch(url: url, logger: logger) { stream, head in
            seen.withLock { $0[stream] = max($0[stream] ?? 0, head) }
            change.yield()
        }
        let watching = Task { await watch.run() }
        defer { watching.cancel() }
        let timer = Task {
            try await Task.sleep(for: .seconds(20))
            change.finish()
        }
        defer { timer.cancel() }
        try await withLog(location) { storage, _ in
            var appended = false
            for await _ in changes {
                // The read at subscription reports every stream, at 0 here; then the append.
                if !appended, seen.withLock({ $0.count }) == 2 {
                    _ = try await storage.log.append(stream: "frames", records: records(["a", "b", "c"]))
                    appended = true
                }
                if seen.withLock({ $0["frames"] ?? 0 }) == 3 { break }
            }
            #expect(appended && seen.withLock { $0["frames"] } == 3, "no notification of the append within 20 s")
        }
    }

    @Test func payloadsThatAreNotAStreamAndAHeadAreIgnored() {
        #expect(PostgresHeadsWatch.parse("frames 12")! == ("frames", 12))
        #expect(PostgresHeadsWatch.parse("a b 7")! == ("a b", 7))
        for payload in ["", "frames", "frames -1", "frames x", " 12x", "frames 99999999999999999999"] {
            #expect(PostgresHeadsWatch.parse(payload) == nil, "\(payload)")
        }
    }
}
