import Logging
import PostgresNIO

extension PostgresConnection {
    /// Runs a statement, or fails at once when the connection has already closed.
    ///
    /// postgres-nio 1.33 never answers a statement written to a connection whose channel has
    /// closed: the caller waits for ever. A transaction's next statement after PostgreSQL went
    /// away, or the ROLLBACK after the failure that closed the connection, would then stop the
    /// log's writer and with it every ingest. Only a close in the instant between this check and
    /// the write is left unguarded.
    @discardableResult
    func queryIfOpen(_ query: PostgresQuery, logger: Logger, file: String = #fileID, line: Int = #line) async throws -> PostgresRowSequence {
        guard !isClosed else { throw PostgresConnectionClosed() }
        return try await self.query(query, logger: logger, file: file, line: line)
    }
}

extension PostgresClient {
    /// Runs a statement on a pooled connection and returns all its rows.
    ///
    /// Through ``PostgresConnection/queryIfOpen(_:logger:file:line:)``: the pool can hand out
    /// a connection that closed a moment before it noticed (PostgreSQL restarting under load),
    /// and postgres-nio's own `PostgresClient.query` writes to it unchecked and then waits for ever.
    @discardableResult
    func rowsIfOpen(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await withConnection { connection in
            try await connection.queryIfOpen(query, logger: logger).collect()
        }
    }
}

/// A statement was not sent because its connection had closed.
struct PostgresConnectionClosed: Error, CustomStringConvertible {
    var description: String { "the connection to PostgreSQL has closed" }
}
