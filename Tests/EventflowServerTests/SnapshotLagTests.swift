import EventflowLog
@testable import EventflowServer
import EventflowTesting
import Foundation
import NIOCore
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing

/// A reader's snapshot may lag the head the log has published (on SQLite, two statements
/// of one connection can share an older read transaction). A partitioned delivery must
/// then read those events again later, never move past them.
@Suite struct SnapshotLagTests {
    @Test func partitionedDeliveryWhoseReadsLagTheHeadSkipsNothing() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sqlite = try await SQLiteEventLog.open(configuration: LogConfiguration(dataDirectory: directory, streams: ["events"]), logger: quietLogger)
        let log = LaggingSnapshotLog(base: sqlite)
        let storage = { var storage = sqlite.storage; storage.log = log; return storage }()
        try await withTarget { target in
            let processor = DeliverProcessor(
                storage: storage, configuration: delivery(to: target) { $0.timeout = .seconds(10) }, partitions: 4,
                metrics: DeliveryMetrics(registry: PrometheusCollectorRegistry(), configuration: DeliveryConfiguration()), logger: quietLogger)
            let group = ServiceGroup(services: [sqlite, processor], gracefulShutdownSignals: [], logger: quietLogger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                for batch in 0..<20 {
                    let records = (0..<100).map { number in
                        let id = "lag-\(batch * 100 + number)"
                        return LogRecord(id: id, body: ByteBuffer(string: #"{"id":"\#(id)","name":"n","timestamp":1}"#))
                    }
                    _ = try await sqlite.append(stream: "events", records: records)
                }
                try await target.waitForUnique(2_000)
                #expect(try await target.summary()["duplicates"] == 0)
                #expect(log.shortReads > 0, "no read came back short: the test did not exercise the lag")
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }
}

/// A real log whose reads of a stream see it as the previous read's head left it: each
/// read holds only the events below the head published when the read before it began,
/// as a reader whose snapshot lags the published head would.
private final class LaggingSnapshotLog: EventLog {
    private let base: any EventLog
    private let visibleHead = Mutex<[String: Int64]>([:])
    private let shortened = Atomic<Int>(0)

    init(base: any EventLog) {
        self.base = base
    }

    /// Reads that came back with fewer events than the log held.
    var shortReads: Int { shortened.load(ordering: .relaxed) }

    var streams: [String] { base.streams }
    var health: LogHealth { base.health }

    func read(stream: String, from offset: Int64, limit: Int, maxBytes: Int, bodies: Bool, partition: StreamPartition?) async throws -> [StoredEvent] {
        let head = base.headOffset(stream: stream)
        let visible = visibleHead.withLock { heads in
            defer { heads[stream] = head }
            return heads[stream] ?? 0
        }
        let events = try await base.read(stream: stream, from: offset, limit: limit, maxBytes: maxBytes, bodies: bodies, partition: partition)
        let seen = events.prefix { $0.offset < visible }
        if seen.count < events.count { shortened.add(1, ordering: .relaxed) }
        return Array(seen)
    }

    func append(stream: String, records: [LogRecord]) async throws(EventLogError) -> AppendResult {
        try await base.append(stream: stream, records: records)
    }

    func headOffset(stream: String) -> Int64 { base.headOffset(stream: stream) }
    func waitForEvent(in stream: String, at offset: Int64) async { await base.waitForEvent(in: stream, at: offset) }
}
