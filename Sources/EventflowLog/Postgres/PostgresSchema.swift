import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The PostgreSQL tables of the log, their versioned migrations, and the statements that
/// touch them.
///
/// One table per stream of ``RecordBatch`` rows (the last offset of each as primary key)
/// and one row per stream holding its head:
/// an append takes that row's lock to allocate offsets, so offsets are dense and become
/// visible in commit order even with several collectors writing.
enum PostgresSchema {
    /// Held (transaction-scoped) while migrating or creating tables, so processes that
    /// start at once wait for each other instead of racing on `CREATE TABLE`.
    static let schemaLockKey: Int64 = 0x4576_656E_7466_6C6F

    /// The log's own schema, in order; each runs once, recorded in `eventflow_migrations`.
    static let migrations: [(version: Int, description: String, statements: [String])] = [
        (
            1, "heads, cursors with leases, dead letters",
            [
                "CREATE TABLE eventflow_heads (stream TEXT PRIMARY KEY, head BIGINT NOT NULL)",
                """
                CREATE TABLE eventflow_cursors (processor TEXT NOT NULL, stream TEXT NOT NULL, next_offset BIGINT NOT NULL, \
                owner TEXT, lease_expires_ms BIGINT NOT NULL, PRIMARY KEY (processor, stream))
                """,
                """
                CREATE TABLE eventflow_dead_letters (stream TEXT NOT NULL, event_offset BIGINT NOT NULL, event_id TEXT, \
                status INTEGER NOT NULL, response TEXT NOT NULL, failed_at_ms BIGINT NOT NULL, accepted_at_ms BIGINT NOT NULL, \
                event_key TEXT, event_time_ms BIGINT, body BYTEA NOT NULL, PRIMARY KEY (stream, event_offset))
                """,
            ]
        ),
        (
            2, "members of processor groups",
            [
                """
                CREATE TABLE eventflow_members (group_name TEXT NOT NULL, owner TEXT NOT NULL, expires_ms BIGINT NOT NULL, \
                PRIMARY KEY (group_name, owner))
                """
            ]
        ),
        (
            3, "ordering holds of processor groups",
            [
                "CREATE TABLE eventflow_holds (group_name TEXT NOT NULL, member TEXT NOT NULL, PRIMARY KEY (group_name, member))"
            ]
        ),
        (
            4, "partition layouts of processor groups",
            [
                "CREATE TABLE eventflow_layouts (group_name TEXT PRIMARY KEY, partitions BIGINT NOT NULL)"
            ]
        ),
    ]

    /// The table of a stream. Stream names are validated (`a-z0-9_`), so they are safe here.
    static func table(_ stream: String) -> String { "log_\(stream)" }

    /// The table of a stream in logs written before record batches: one row per event.
    static func legacyTable(_ stream: String) -> String { "stream_\(stream)" }

    /// The database's clock in unix milliseconds: leases expire by one clock for every process.
    static let nowMs = "(extract(epoch from clock_timestamp()) * 1000)::bigint"

    /// Applies the missing migrations and creates the streams' tables, in one transaction
    /// under the schema lock.
    static func migrate(_ connection: PostgresConnection, streams: [String], logger: Logger) async throws {
        try await inSchemaTransaction(connection, logger: logger) {
            try await connection.queryIfOpen(
                "CREATE TABLE IF NOT EXISTS eventflow_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                logger: logger)
            var applied: Set<Int> = []
            for try await version in try await connection.queryIfOpen("SELECT version FROM eventflow_migrations", logger: logger).decode(Int.self) {
                applied.insert(version)
            }
            for migration in migrations where !applied.contains(migration.version) {
                for statement in migration.statements {
                    try await connection.queryIfOpen(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.queryIfOpen(
                    "INSERT INTO eventflow_migrations (version, description) VALUES (\(migration.version), \(migration.description))", logger: logger)
                logger.info("schema migrated", metadata: ["version": "\(migration.version)", "description": "\(migration.description)"])
            }
            for stream in streams {
                try await connection.queryIfOpen(
                    PostgresQuery(unsafeSQL: """
                        CREATE TABLE IF NOT EXISTS \(table(stream)) (last_offset BIGINT PRIMARY KEY, first_offset BIGINT NOT NULL, \
                        accepted_at_ms BIGINT NOT NULL, headers BYTEA NOT NULL, bodies BYTEA NOT NULL)
                        """),
                    logger: logger)
                try await migrateLegacyTable(connection, stream: stream, logger: logger)
                try await connection.queryIfOpen("INSERT INTO eventflow_heads (stream, head) VALUES (\(stream), 0) ON CONFLICT (stream) DO NOTHING", logger: logger)
            }
        }
    }

    /// Moves the events of a log written before record batches (one row per event) into
    /// ``RecordBatch`` rows and drops the old table, inside the schema transaction: runs of
    /// events committed together, cut at ``RecordBatch/maxEvents`` offsets and about
    /// ``RecordBatch/maxBodyBytes`` of bodies, each become a row whose headers are built
    /// byte for byte as ``RecordBatch/encode(_:)`` builds them.
    static func migrateLegacyTable(_ connection: PostgresConnection, stream: String, logger: Logger) async throws {
        let legacy = legacyTable(stream)
        let exists = try await connection.queryIfOpen("SELECT to_regclass(\(legacy)) IS NOT NULL", logger: logger).collect().first?.decode(Bool.self) ?? false
        guard exists else { return }
        let header = """
            set_byte('\\x00'::bytea, 0, (CASE WHEN event_id IS NULL THEN 0 ELSE 1 END) | (CASE WHEN event_key IS NULL THEN 0 ELSE 2 END) \
            | (CASE WHEN event_time_ms IS NULL THEN 0 ELSE 4 END)) \
            || COALESCE(int4send(octet_length(convert_to(event_id, 'UTF8'))) || convert_to(event_id, 'UTF8'), ''::bytea) \
            || COALESCE(int4send(octet_length(convert_to(event_key, 'UTF8'))) || convert_to(event_key, 'UTF8'), ''::bytea) \
            || COALESCE(int8send(event_time_ms), ''::bytea) || int4send(octet_length(body))
            """
        let rows = try await connection.queryIfOpen(
            PostgresQuery(unsafeSQL: """
                WITH blocks AS (SELECT *, event_offset / \(RecordBatch.maxEvents) AS block, \
                sum(octet_length(body)) OVER (ORDER BY event_offset) / \(RecordBatch.maxBodyBytes) AS byte_block FROM \(legacy)), \
                runs AS (SELECT *, event_offset - row_number() OVER (PARTITION BY block, byte_block, accepted_at_ms ORDER BY event_offset) AS run FROM blocks), \
                moved AS (INSERT INTO \(table(stream)) (last_offset, first_offset, accepted_at_ms, headers, bodies) \
                SELECT max(event_offset), min(event_offset), accepted_at_ms, string_agg(\(header), ''::bytea ORDER BY event_offset), \
                string_agg(body, ''::bytea ORDER BY event_offset) FROM runs GROUP BY block, byte_block, accepted_at_ms, run RETURNING last_offset - first_offset + 1 AS events) \
                SELECT COALESCE(sum(events), 0)::bigint FROM moved
                """),
            logger: logger)
        let moved = try await rows.collect().first?.decode(Int64.self) ?? 0
        try await connection.queryIfOpen(PostgresQuery(unsafeSQL: "DROP TABLE \(legacy)"), logger: logger)
        logger.info("the stream's events are in record batches", metadata: ["stream": "\(stream)", "events": "\(moved)"])
    }

    /// Runs `body` in a transaction that holds the schema lock. Processes starting at once
    /// wait here for each other's migrations, so this transaction may wait for locks up to
    /// five minutes rather than the session's five seconds (``PostgresURL/sessionLimits``).
    static func inSchemaTransaction(_ connection: PostgresConnection, logger: Logger, _ body: () async throws -> Void) async throws {
        try await connection.queryIfOpen("BEGIN", logger: logger)
        do {
            try await connection.queryIfOpen("SET LOCAL lock_timeout = '5min'", logger: logger)
            try await connection.queryIfOpen("SET LOCAL statement_timeout = '5min'", logger: logger)
            try await connection.queryIfOpen("SELECT pg_advisory_xact_lock(\(schemaLockKey))", logger: logger)
            try await body()
            try await connection.queryIfOpen("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.queryIfOpen("ROLLBACK", logger: logger)
            throw error
        }
    }

    static func heads(_ connection: PostgresConnection, logger: Logger) async throws -> [String: Int64] {
        var heads: [String: Int64] = [:]
        for try await (stream, head) in try await connection.queryIfOpen("SELECT stream, head FROM eventflow_heads", logger: logger).decode((String, Int64).self) {
            heads[stream] = head
        }
        return heads
    }

    /// Allocates `count` offsets of `stream` (locking its head row until commit) and returns the first.
    static func allocateOffsets(_ connection: PostgresConnection, stream: String, count: Int, logger: Logger) async throws -> Int64 {
        let rows = try await connection.queryIfOpen(
            """
            UPDATE eventflow_heads SET head = head + \(Int64(count)) WHERE stream = \(stream) \
            RETURNING head - \(Int64(count)), pg_notify(\(PostgresHeadsWatch.channel), stream || ' ' || head::text)
            """,
            logger: logger)
        for try await first in rows.decode(Int64.self) { return first }
        throw EventLogError.unknownStream(stream)
    }

    /// Appends `records` to `stream` from offset `first` on, as ``RecordBatch`` rows in one statement.
    static func insert(_ connection: PostgresConnection, stream: String, first: Int64, records: [LogRecord], acceptedAtMs: Int64, logger: Logger) async throws {
        let rows = RecordBatch.rows(records)
        var lastOffsets: [Int64] = []
        var firstOffsets: [Int64] = []
        var headers: [ByteBuffer] = []
        var bodies: [ByteBuffer] = []
        lastOffsets.reserveCapacity(rows.count)
        firstOffsets.reserveCapacity(rows.count)
        headers.reserveCapacity(rows.count)
        bodies.reserveCapacity(rows.count)
        for range in rows {
            let row = RecordBatch.encode(records[range])
            lastOffsets.append(first + Int64(range.upperBound) - 1)
            firstOffsets.append(first + Int64(range.lowerBound))
            headers.append(row.headers)
            bodies.append(row.bodies)
        }
        try await connection.queryIfOpen(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(table(stream)) (last_offset, first_offset, accepted_at_ms, headers, bodies) \
                    SELECT u.last_offset, u.first_offset, $3, u.headers, u.bodies \
                    FROM unnest($1::bigint[], $2::bigint[], $4::bytea[], $5::bytea[]) AS u(last_offset, first_offset, headers, bodies)
                    """,
                binds: {
                    var binds = PostgresBindings(capacity: 5)
                    binds.append(lastOffsets)
                    binds.append(firstOffsets)
                    binds.append(acceptedAtMs)
                    binds.append(headers)
                    binds.append(bodies)
                    return binds
                }()),
            logger: logger)
    }

    /// Deletes up to ``RetentionRule/batchesPerDeletion`` of the oldest rows of `stream` that
    /// lie wholly below `offset`, never the newest row; returns the events they held.
    static func deleteEvents(_ connection: PostgresConnection, stream: String, below offset: Int64, logger: Logger) async throws -> Int {
        let table = table(stream)
        let rows = try await connection.queryIfOpen(
            PostgresQuery(
                unsafeSQL: """
                    WITH gone AS (DELETE FROM \(table) WHERE last_offset IN (SELECT last_offset FROM \(table) WHERE last_offset < $1 \
                    AND last_offset < (SELECT max(last_offset) FROM \(table)) ORDER BY last_offset LIMIT \(RetentionRule.batchesPerDeletion)) \
                    RETURNING last_offset - first_offset + 1 AS events) SELECT COALESCE(sum(events), 0)::bigint FROM gone
                    """,
                binds: { var binds = PostgresBindings(capacity: 1); binds.append(offset); return binds }()),
            logger: logger)
        return Int(try await rows.collect().first?.decode(Int64.self) ?? 0)
    }

    static let deadLetterColumns = "stream, event_offset, event_id, status, response, failed_at_ms, accepted_at_ms, event_key, event_time_ms, body"

    static func insertDeadLetter(_ connection: PostgresConnection, _ letter: DeadLetter, logger: Logger) async throws {
        let event = letter.event
        try await connection.queryIfOpen(
            """
            INSERT INTO eventflow_dead_letters (stream, event_offset, event_id, status, response, failed_at_ms, accepted_at_ms, event_key, event_time_ms, body) \
            VALUES (\(letter.stream), \(letter.offset), \(letter.id), \(Int32(letter.status)), \(letter.response), \(letter.failedAtMs), \
            \(event.acceptedAtMs), \(event.key), \(event.eventTimeMs), \(event.body)) \
            ON CONFLICT (stream, event_offset) DO UPDATE SET status = excluded.status, response = excluded.response, failed_at_ms = excluded.failed_at_ms
            """,
            logger: logger)
    }

    static func deadLetters(_ rows: [PostgresRow]) throws -> [DeadLetter] {
        var letters: [DeadLetter] = []
        for row in rows {
            let (stream, offset, id, status, response, failedAtMs, acceptedAtMs, key, eventTimeMs, body) = try row.decode(
                (String, Int64, String?, Int32, String, Int64, Int64, String?, Int64?, ByteBuffer).self)
            let event = StoredEvent(stream: stream, offset: offset, acceptedAtMs: acceptedAtMs, id: id, key: key, eventTimeMs: eventTimeMs, body: body)
            letters.append(DeadLetter(event: event, status: Int(status), response: response, failedAtMs: failedAtMs))
        }
        return letters
    }

    /// Deletes and returns the dead letters of `stream` (all, or those with these ids), oldest first.
    /// Removes and returns the dead letters `selection` chooses, oldest first: a running sum
    /// of the bodies' sizes (octet_length reads a stored value's size without detoasting it)
    /// ends the chunk where its bytes run out.
    static func takeDeadLetters(_ connection: PostgresConnection, _ selection: DeadLetterSelection, logger: Logger) async throws -> [DeadLetter] {
        if let ids = selection.ids, ids.isEmpty { return [] }
        let ids = selection.ids ?? []
        let rows = try await connection.queryIfOpen(
            """
            WITH sized AS (SELECT event_offset, octet_length(body) AS size, sum(octet_length(body)) OVER (ORDER BY event_offset) AS upto \
            FROM eventflow_dead_letters WHERE stream = \(selection.stream) AND event_offset < \(selection.belowOffset) \
            AND (\(selection.ids == nil) OR event_id = ANY(\(ids))) ORDER BY event_offset LIMIT \(Int64(selection.limit))) \
            DELETE FROM eventflow_dead_letters WHERE stream = \(selection.stream) \
            AND event_offset IN (SELECT event_offset FROM sized WHERE upto = size OR upto <= \(Int64(selection.maxBytes))) \
            RETURNING \(unescaped: deadLetterColumns)
            """,
            logger: logger)
        return try deadLetters(await rows.collect()).sorted { $0.offset < $1.offset }
    }

    static func bindings(_ values: [StateValue]) -> PostgresBindings {
        var binds = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .integer(let integer): binds.append(integer)
            case .text(let text): binds.append(text)
            case .null: binds.appendNull()
            }
        }
        return binds
    }

    /// A state value from any column type processors use: integers (including `SUM`'s
    /// `numeric`), text, bytes, booleans.
    static func stateValue(_ cell: PostgresCell) throws -> StateValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .numeric: return .integer(Int64(truncating: try cell.decode(Decimal.self) as NSDecimalNumber))
        case .float4, .float8: return .integer(Int64(try cell.decode(Double.self)))
        case .bytea: return .text(String(buffer: try cell.decode(ByteBuffer.self)))
        default: return .text(try cell.decode(String.self))
        }
    }
}
