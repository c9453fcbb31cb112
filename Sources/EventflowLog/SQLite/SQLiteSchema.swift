import NIOCore
import SQLiteNIO

/// The SQLite tables of the log and the statements that touch them.
///
/// One table per stream, with the offset as rowid so appends go to the end of the
/// B-tree; one table of processor cursors.
enum SQLiteSchema {
    /// Rows per INSERT statement: 6 parameters each, well under SQLite's 32,766 limit,
    /// and few statements (each one a thread hop and a prepare) per commit.
    static let rowsPerInsert = 500
    static let columns = "event_offset, accepted_at_ms, event_id, event_key, event_time_ms, body"

    /// The table of a stream. Stream names are validated (`a-z0-9_`), so they are safe here.
    static func table(_ stream: String) -> String { "stream_\(stream)" }

    static func prepareWriter(_ connection: SQLiteConnection, streams: [String], maxDatabaseBytes: Int?) async throws {
        try await connection.execute("PRAGMA journal_mode = WAL")
        try await connection.execute("PRAGMA synchronous = FULL")
        try await connection.execute("PRAGMA wal_autocheckpoint = 0")
        try await connection.execute("PRAGMA journal_size_limit = 67108864")
        if let maxDatabaseBytes {
            try await connection.execute("PRAGMA max_page_count = \(max(16, maxDatabaseBytes / 4096))")
        }
        try await connection.execute(
            "CREATE TABLE IF NOT EXISTS cursors (processor TEXT NOT NULL, stream TEXT NOT NULL, next_offset INTEGER NOT NULL, PRIMARY KEY (processor, stream)) WITHOUT ROWID",
        )
        for stream in streams {
            try await connection.execute(
                "CREATE TABLE IF NOT EXISTS \(table(stream)) (event_offset INTEGER PRIMARY KEY, accepted_at_ms INTEGER NOT NULL, event_id TEXT, event_key TEXT, event_time_ms INTEGER, body BLOB NOT NULL)"
            )
        }
    }

    static func headOffset(_ connection: SQLiteConnection, stream: String) async throws -> Int64 {
        let rows = try await connection.query("SELECT MAX(event_offset) AS last FROM \(table(stream))", [])
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

    static func insert(_ connection: SQLiteConnection, stream: String, rows: [(offset: Int64, record: LogRecord)], acceptedAtMs: Int64) async throws {
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + rowsPerInsert, rows.count)]
            var binds: [SQLiteData] = []
            binds.reserveCapacity(chunk.count * 6)
            for (offset, record) in chunk {
                binds.append(.integer(SQLiteInt64(offset)))
                binds.append(.integer(SQLiteInt64(acceptedAtMs)))
                binds.append(record.id.map(SQLiteData.text) ?? .null)
                binds.append(record.key.map(SQLiteData.text) ?? .null)
                binds.append(record.eventTimeMs.map { .integer(SQLiteInt64($0)) } ?? .null)
                binds.append(.blob(record.body))
            }
            try await connection.execute(insertStatement(stream: stream, rows: chunk.count), binds)
            start += chunk.count
        }
    }

    static func saveCursor(_ connection: SQLiteConnection, key: CursorKey, offset: Int64) async throws {
        try await connection.execute(
            "INSERT INTO cursors (processor, stream, next_offset) VALUES (?, ?, ?) ON CONFLICT (processor, stream) DO UPDATE SET next_offset = excluded.next_offset",
            [.text(key.processor), .text(key.stream), .integer(SQLiteInt64(offset))])
    }

    private static func insertStatement(stream: String, rows: Int) -> String {
        var sql = "INSERT INTO \(table(stream)) (\(columns)) VALUES "
        sql.reserveCapacity(sql.utf8.count + rows * 16)
        for row in 0..<rows {
            sql += row == 0 ? "(?,?,?,?,?,?)" : ",(?,?,?,?,?,?)"
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
