import EventflowLog
import EventflowTesting
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import SQLiteNIO
import Testing

/// A log written before record batches, one row per event, opens with every event where it
/// was: same offsets, fields, bodies and commit times; appends go on after them.
@Suite struct LegacyLayoutTests {
    private static let events = 2_100
    /// An event larger than a record batch's bytes, so that the move cuts a row for it alone.
    private static let largeOffset = 1_500
    private static let largeBytes = 1_500_000

    private static func expectedBody(_ offset: Int) -> String {
        offset == largeOffset ? String(repeating: "x", count: largeBytes) : #"{"n":\#(offset)}"#
    }

    @Test(arguments: LogBackend.allCases) func aLogOfOneRowPerEventOpensWithEveryEvent(backend: LogBackend) async throws {
        let location = try await backend.fresh()
        // Let the log create its tables, then put the old layout in place of the stream's.
        try await withLog(location) { storage, _ in
            #expect(storage.log.headOffset(stream: "events") == 0)
        }
        try await writeLegacyStream(location)
        try await withLog(location) { storage, _ in
            #expect(storage.log.headOffset(stream: "events") == Int64(Self.events))
            try await expectEveryLegacyEvent(storage.log)
            #expect(try await storage.log.append(stream: "events", records: records(["new"])).firstOffset == Int64(Self.events))
        }
        try await withLog(location) { storage, _ in
            try await expectEveryLegacyEvent(storage.log)
            #expect(try await storage.log.read(stream: "events", from: Int64(Self.events), limit: 10).map(\.id) == ["new"])
        }
    }

    private func expectEveryLegacyEvent(_ log: any EventLog) async throws {
        var read: [StoredEvent] = []
        while read.count < Self.events {
            let page = try await log.read(stream: "events", from: Int64(read.count), limit: 500, maxBytes: 2_000_000)
            try #require(!page.isEmpty)
            read += page.filter { $0.offset < Int64(Self.events) }
        }
        #expect(read.map(\.offset) == (0..<Int64(Self.events)).map { $0 })
        for event in read {
            let n = Int(event.offset)
            #expect(event.id == (n % 5 == 0 ? nil : "id-\(n)"))
            #expect(event.key == (n % 3 == 0 ? nil : "key-\(n)"))
            #expect(event.eventTimeMs == (n % 4 == 0 ? nil : Int64(n) * 10))
            #expect(event.acceptedAtMs == 1_000 + Int64(n / 7))
            if String(buffer: event.body) != Self.expectedBody(n) { Issue.record("event \(n) has another body") }
        }
    }

    /// Replaces the stream's table with one of the old layout holding `events` events, committed seven at a time.
    private func writeLegacyStream(_ location: LogLocation) async throws {
        let logger = Logger(label: "legacy-layout")
        switch location {
        case .directory(let directory):
            let connection = try await SQLiteConnection.open(
                storage: .file(path: directory + "/eventflow.sqlite"), threadPool: .singleton, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
            for statement in [
                "DROP TABLE log_events",
                "CREATE TABLE stream_events (event_offset INTEGER PRIMARY KEY, accepted_at_ms INTEGER NOT NULL, event_id TEXT, event_key TEXT, event_time_ms INTEGER, body BLOB NOT NULL)",
                """
                WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < \(Self.events - 1)) \
                INSERT INTO stream_events SELECT n, 1000 + n / 7, CASE WHEN n % 5 = 0 THEN NULL ELSE 'id-' || n END, \
                CASE WHEN n % 3 = 0 THEN NULL ELSE 'key-' || n END, CASE WHEN n % 4 = 0 THEN NULL ELSE n * 10 END, CAST('{"n":' || n || '}' AS BLOB) FROM g
                """,
                "UPDATE stream_events SET body = CAST(printf('%.*c', \(Self.largeBytes), 'x') AS BLOB) WHERE event_offset = \(Self.largeOffset)",
            ] {
                _ = try await connection.query(statement, [])
            }
            try await connection.close()
        case .postgres(let url):
            let connection = try await PostgresConnection.connect(
                configuration: .init(host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable),
                id: 1, logger: logger)
            for statement in [
                "DROP TABLE log_events",
                """
                CREATE TABLE stream_events (event_offset BIGINT PRIMARY KEY, accepted_at_ms BIGINT NOT NULL, event_id TEXT, event_key TEXT, \
                event_time_ms BIGINT, body BYTEA NOT NULL)
                """,
                """
                INSERT INTO stream_events SELECT g, 1000 + g / 7, CASE WHEN g % 5 = 0 THEN NULL ELSE 'id-' || g END, \
                CASE WHEN g % 3 = 0 THEN NULL ELSE 'key-' || g END, CASE WHEN g % 4 = 0 THEN NULL ELSE g * 10 END, \
                convert_to('{"n":' || g || '}', 'UTF8') FROM generate_series(0, \(Self.events - 1)) AS g
                """,
                "UPDATE stream_events SET body = convert_to(repeat('x', \(Self.largeBytes)), 'UTF8') WHERE event_offset = \(Self.largeOffset)",
                "UPDATE eventflow_heads SET head = \(Self.events) WHERE stream = 'events'",
            ] {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await connection.close()
        }
    }
}
