import Logging
import NIOCore
import SQLiteNIO

/// The SQLite tables of the log and the statements that touch them.
///
/// One table per stream of ``RecordBatch`` rows, with each row's last offset as rowid so
/// appends go to the end of the B-tree and a read finds its first row by offset; one table
/// of processor cursors.
enum SQLiteSchema {
    /// Rows per INSERT statement: 5 parameters each, well under SQLite's 32,766 limit.
    static let rowsPerInsert = 200
    static let columns = "last_offset, first_offset, accepted_at_ms, headers, bodies"

    /// The table of a stream. Stream names are validated (`a-z0-9_`), so they are safe here.
    static func table(_ stream: String) -> String { "log_\(stream)" }

    /// The table of a stream in logs written before record batches: one row per event.
    static func legacyTable(_ stream: String) -> String { "stream_\(stream)" }

    /// Sets the connection up as the log's writer and creates the tables; returns the database's page size.
    static func prepareWriter(_ connection: SQLiteConnection, streams: [String], maxDatabaseBytes: Int?) async throws -> Int {
        // Only takes effect when the database is created. A record batch row is tens of KiB
        // at peak: a 16 KiB page needs a quarter of the overflow pages a 4 KiB page would.
        try await connection.execute("PRAGMA page_size = 16384")
        try await connection.execute("PRAGMA journal_mode = WAL")
        try await connection.execute("PRAGMA synchronous = FULL")
        try await connection.execute("PRAGMA wal_autocheckpoint = 0")
        // Waits by sleeping, not spinning as sqlite-nio's handler does: the writer's
        // RESTART checkpoints wait here for reads that began before them to end.
        try await connection.execute("PRAGMA busy_timeout = 2000")
        // Keep the WAL file allocated when it restarts: truncating it inside a commit stalls
        // that commit for 100+ ms on ext4, and overwriting blocks in place makes each fsync cheaper.
        try await connection.execute("PRAGMA journal_size_limit = -1")
        let pageSize = try await connection.query("PRAGMA page_size", []).first?.column("page_size")?.integer ?? 4096
        if let maxDatabaseBytes {
            try await connection.execute("PRAGMA max_page_count = \(max(16, maxDatabaseBytes / pageSize))")
        }
        try await connection.execute(
            "CREATE TABLE IF NOT EXISTS cursors (processor TEXT NOT NULL, stream TEXT NOT NULL, next_offset INTEGER NOT NULL, PRIMARY KEY (processor, stream)) WITHOUT ROWID",
        )
        // Written and emptied by the writer's probe while the log is not writable.
        try await connection.execute("CREATE TABLE IF NOT EXISTS eventflow_probe (filler BLOB NOT NULL)")
        try await connection.execute(
            "CREATE TABLE IF NOT EXISTS dead_letters (stream TEXT NOT NULL, event_offset INTEGER NOT NULL, event_id TEXT, status INTEGER NOT NULL, response TEXT NOT NULL, failed_at_ms INTEGER NOT NULL, accepted_at_ms INTEGER NOT NULL, event_key TEXT, event_time_ms INTEGER, body BLOB NOT NULL, PRIMARY KEY (stream, event_offset))"
        )
        for stream in streams {
            try await connection.execute(
                "CREATE TABLE IF NOT EXISTS \(table(stream)) (last_offset INTEGER PRIMARY KEY, first_offset INTEGER NOT NULL, accepted_at_ms INTEGER NOT NULL, headers BLOB NOT NULL, bodies BLOB NOT NULL)"
            )
        }
        return pageSize
    }

    /// Moves the events of a log written before record batches (one row per event) into
    /// ``RecordBatch`` rows, then drops the old table. Each chunk moves in a transaction of
    /// its own, so a crash midway leaves every event in one of the two tables, and the next
    /// start carries on.
    static func migrateLegacyTable(_ connection: SQLiteConnection, stream: String, logger: Logger) async throws {
        let legacy = legacyTable(stream)
        guard try await !connection.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [.text(legacy)]).isEmpty else { return }
        logger.info("moving the stream's events into record batches", metadata: ["stream": "\(stream)"])
        var moved = 0
        while true {
            try await connection.execute("BEGIN IMMEDIATE")
            do {
                let sizes = try await connection.query(
                    "SELECT event_offset, length(body) AS size FROM \(legacy) ORDER BY event_offset LIMIT ?", [.integer(RecordBatch.maxEvents)])
                guard let last = lastOffset(within: RecordBatch.maxBodyBytes, sizes: sizes) else {
                    try await connection.execute("DROP TABLE \(legacy)")
                    try await connection.execute("COMMIT")
                    break
                }
                let rows = try await connection.query(
                    "SELECT event_offset, accepted_at_ms, event_id, event_key, event_time_ms, body FROM \(legacy) WHERE event_offset <= ? ORDER BY event_offset",
                    [.integer(SQLiteInt64(last))])
                // Runs of events committed together keep their commit time.
                var run: (first: Int64, acceptedAtMs: Int64, records: [LogRecord])?
                for row in rows {
                    let offset = Int64(row.column("event_offset")?.integer ?? 0)
                    let acceptedAtMs = Int64(row.column("accepted_at_ms")?.integer ?? 0)
                    let record = LogRecord(
                        id: row.column("event_id")?.string, key: row.column("event_key")?.string,
                        eventTimeMs: row.column("event_time_ms")?.integer.map(Int64.init), body: row.column("body")?.blob ?? ByteBuffer())
                    if let current = run, current.acceptedAtMs == acceptedAtMs, current.first + Int64(current.records.count) == offset {
                        run?.records.append(record)
                        continue
                    }
                    if let current = run { try await insert(connection, stream: stream, first: current.first, records: current.records, acceptedAtMs: current.acceptedAtMs) }
                    run = (offset, acceptedAtMs, [record])
                }
                if let current = run { try await insert(connection, stream: stream, first: current.first, records: current.records, acceptedAtMs: current.acceptedAtMs) }
                try await connection.execute("DELETE FROM \(legacy) WHERE event_offset <= ?", [.integer(SQLiteInt64(last))])
                try await connection.execute("COMMIT")
                moved += rows.count
            } catch {
                try? await connection.execute("ROLLBACK")
                throw error
            }
        }
        logger.info("the stream's events are in record batches", metadata: ["stream": "\(stream)", "events": "\(moved)"])
    }

    static func headOffset(_ connection: SQLiteConnection, stream: String) async throws -> Int64 {
        let rows = try await connection.query("SELECT MAX(last_offset) AS last FROM \(table(stream))", [])
        guard let last = rows.first?.column("last")?.integer else { return 0 }
        return Int64(last) + 1
    }

    static func cursors(_ connection: SQLiteConnection) async throws -> [CursorKey: Int64] {
        var cursors: [CursorKey: Int64] = [:]
        for row in try await connection.query("SELECT processor, stream, next_offset FROM cursors", []) {
            guard let processor = row.column("processor")?.string, let stream = row.column("stream")?.string,
                let offset = row.column("next_offset")?.integer
            else { continue }
            cursors[CursorKey(processor: processor, stream: stream)] = Int64(offset)
        }
        return cursors
    }

    /// Appends `records` to `stream` from offset `first` on, as ``RecordBatch`` rows.
    static func insert(_ connection: SQLiteConnection, stream: String, first: Int64, records: [LogRecord], acceptedAtMs: Int64) async throws {
        let rows = RecordBatch.rows(records)
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + rowsPerInsert, rows.count)]
            var binds: [SQLiteData] = []
            binds.reserveCapacity(chunk.count * 5)
            for range in chunk {
                let (headers, bodies) = RecordBatch.encode(records[range])
                binds.append(.integer(SQLiteInt64(first + Int64(range.upperBound) - 1)))
                binds.append(.integer(SQLiteInt64(first + Int64(range.lowerBound))))
                binds.append(.integer(SQLiteInt64(acceptedAtMs)))
                binds.append(.blob(headers))
                binds.append(.blob(bodies))
            }
            try await connection.execute(insertStatement(stream: stream, rows: chunk.count), binds)
            start += chunk.count
        }
    }

    /// Deletes up to ``RetentionRule/batchesPerDeletion`` of the oldest rows of `stream` that
    /// lie wholly below `offset`, never the newest row (its last offset is the head after a
    /// restart); returns the events they held.
    static func deleteEvents(_ connection: SQLiteConnection, stream: String, below offset: Int64) async throws -> Int {
        let table = table(stream)
        let deleted = try await connection.query(
            """
            DELETE FROM \(table) WHERE last_offset IN (SELECT last_offset FROM \(table) WHERE last_offset < ? \
            AND last_offset < (SELECT MAX(last_offset) FROM \(table)) ORDER BY last_offset LIMIT \(RetentionRule.batchesPerDeletion)) \
            RETURNING last_offset - first_offset + 1 AS events
            """,
            [.integer(SQLiteInt64(offset))])
        return deleted.reduce(0) { $0 + ($1.column("events")?.integer ?? 0) }
    }

    /// The oldest rows of `stream`, oldest first.
    static func oldestBatches(_ connection: SQLiteConnection, stream: String, limit: Int) async throws -> [RetainedBatch] {
        try await connection.query(
            "SELECT first_offset, last_offset, accepted_at_ms FROM \(table(stream)) ORDER BY last_offset LIMIT ?", [.integer(SQLiteInt64(limit))]
        ).map { row in
            RetainedBatch(
                firstOffset: Int64(row.column("first_offset")?.integer ?? 0), lastOffset: Int64(row.column("last_offset")?.integer ?? 0),
                acceptedAtMs: Int64(row.column("accepted_at_ms")?.integer ?? 0))
        }
    }

    static func saveCursor(_ connection: SQLiteConnection, key: CursorKey, offset: Int64) async throws {
        try await connection.execute(
            "INSERT INTO cursors (processor, stream, next_offset) VALUES (?, ?, ?) ON CONFLICT (processor, stream) DO UPDATE SET next_offset = excluded.next_offset",
            [.text(key.processor), .text(key.stream), .integer(SQLiteInt64(offset))])
    }

    static func insertDeadLetter(_ connection: SQLiteConnection, _ letter: DeadLetter) async throws {
        try await connection.execute(
            "INSERT OR REPLACE INTO dead_letters (\(deadLetterColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                .text(letter.stream), .integer(SQLiteInt64(letter.offset)), letter.id.map(SQLiteData.text) ?? .null,
                .integer(SQLiteInt64(letter.status)), .text(letter.response), .integer(SQLiteInt64(letter.failedAtMs)),
                .integer(SQLiteInt64(letter.event.acceptedAtMs)),
                letter.event.key.map(SQLiteData.text) ?? .null, letter.event.eventTimeMs.map { .integer(SQLiteInt64($0)) } ?? .null,
                .blob(letter.event.body),
            ])
    }

    static let deadLetterColumns = "stream, event_offset, event_id, status, response, failed_at_ms, accepted_at_ms, event_key, event_time_ms, body"

    static func deadLetter(_ row: SQLiteRow) -> DeadLetter {
        let failedAtMs = Int64(row.column("failed_at_ms")?.integer ?? 0)
        let event = StoredEvent(
            stream: row.column("stream")?.string ?? "", offset: Int64(row.column("event_offset")?.integer ?? 0),
            acceptedAtMs: Int64(row.column("accepted_at_ms")?.integer ?? 0),
            id: row.column("event_id")?.string, key: row.column("event_key")?.string,
            eventTimeMs: row.column("event_time_ms")?.integer.map(Int64.init), body: row.column("body")?.blob ?? ByteBuffer())
        return DeadLetter(event: event, status: row.column("status")?.integer ?? 0, response: row.column("response")?.string ?? "", failedAtMs: failedAtMs)
    }

    /// Reads and deletes the dead letters of `stream` (all, or those with these ids), oldest first.
    /// Of rows of `event_offset` and `size` in offset order, the offset of the last whose sizes
    /// together stay within `maxBytes` (the first one whatever its size); nil without rows.
    static func lastOffset(within maxBytes: Int, sizes: [SQLiteRow]) -> Int64? {
        var last: Int64?
        var total = 0
        for row in sizes {
            let size = row.column("size")?.integer ?? 0
            if last != nil, size > maxBytes - total { break }
            total += size
            last = Int64(row.column("event_offset")?.integer ?? 0)
        }
        return last
    }

    /// Removes and returns the dead letters `selection` chooses, oldest first.
    static func takeDeadLetters(_ connection: SQLiteConnection, _ selection: DeadLetterSelection) async throws -> [DeadLetter] {
        var filter = "stream = ? AND event_offset < ?"
        var binds: [SQLiteData] = [.text(selection.stream), .integer(SQLiteInt64(selection.belowOffset))]
        if let ids = selection.ids {
            guard !ids.isEmpty else { return [] }
            filter += " AND event_id IN (" + Array(repeating: "?", count: ids.count).joined(separator: ",") + ")"
            binds += ids.map(SQLiteData.text)
        }
        // The bodies' sizes first (length() reads a row's header), to end the chunk where its bytes run out.
        let sizes = try await connection.query(
            "SELECT event_offset, length(body) AS size FROM dead_letters WHERE \(filter) ORDER BY event_offset LIMIT ?",
            binds + [.integer(SQLiteInt64(selection.limit))])
        guard let last = lastOffset(within: selection.maxBytes, sizes: sizes) else { return [] }
        let chunk = binds + [.integer(SQLiteInt64(last))]
        let letters = try await connection.query(
            "SELECT \(deadLetterColumns) FROM dead_letters WHERE \(filter) AND event_offset <= ? ORDER BY event_offset", chunk
        ).map(deadLetter)
        try await connection.execute("DELETE FROM dead_letters WHERE \(filter) AND event_offset <= ?", chunk)
        return letters
    }

    static func data(_ value: StateValue) -> SQLiteData {
        switch value {
        case .integer(let integer): .integer(SQLiteInt64(integer))
        case .text(let text): .text(text)
        case .null: .null
        }
    }

    static func stateValue(_ data: SQLiteData) -> StateValue {
        switch data {
        case .integer(let integer): .integer(Int64(integer))
        case .float(let double): .integer(Int64(double))
        case .text(let text): .text(text)
        case .blob(let blob): .text(String(buffer: blob))
        case .null: .null
        }
    }

    private static func insertStatement(stream: String, rows: Int) -> String {
        var sql = "INSERT INTO \(table(stream)) (\(columns)) VALUES "
        sql.reserveCapacity(sql.utf8.count + rows * 16)
        for row in 0..<rows {
            sql += row == 0 ? "(?,?,?,?,?)" : ",(?,?,?,?,?)"
        }
        return sql
    }
}

extension SQLiteConnection {
    /// Runs a statement that returns no rows.
    func execute(_ sql: String, _ binds: [SQLiteData] = []) async throws {
        try await query(sql, binds) { _ in }
    }
}
