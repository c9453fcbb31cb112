import Logging
import PostgresNIO

/// Learns the heads other collectors commit, as they commit them.
///
/// Every group commit that appends notifies `eventflow_heads` with `<stream> <head>` in its
/// transaction, so the notification arrives when the rows are visible. The watch listens on
/// a connection of its own; after it (re)subscribes it reads every head once, so nothing
/// committed while it was away is missed.
struct PostgresHeadsWatch: Sendable {
    /// The channel the commits notify.
    static let channel = "eventflow_heads"

    let url: PostgresURL
    let logger: Logger
    /// Called with each head seen, in no particular order; heads only grow, so the caller keeps the highest.
    let observe: @Sendable (_ stream: String, _ head: Int64) -> Void

    /// The stream and head of a notification's payload, `<stream> <head>`; nil when it is not one.
    static func parse(_ payload: String) -> (stream: String, head: Int64)? {
        guard let space = payload.lastIndex(of: " "), let head = Int64(payload[payload.index(after: space)...]), head >= 0 else { return nil }
        return (String(payload[..<space]), head)
    }

    /// Listens until the task is cancelled, connecting again (at most once a second) when the connection is lost.
    func run() async {
        while !Task.isCancelled {
            do {
                try await listenOnce()
            } catch {
                guard !Task.isCancelled else { return }
                logger.warning(
                    "listening for other collectors' commits failed; connecting again in 1 s", metadata: ["error": "\(PostgresEventLog.describe(error))"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func listenOnce() async throws {
        let connection = try await PostgresConnection.connect(configuration: url.connectionConfiguration(), id: 1, logger: logger)
        do {
            try await connection.listen(on: Self.channel) { notifications in
                try await readHeads(connection)
                for try await notification in notifications {
                    guard let (stream, head) = Self.parse(notification.payload) else { continue }
                    observe(stream, head)
                }
            }
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
    }

    private func readHeads(_ connection: PostgresConnection) async throws {
        for (stream, head) in try await PostgresSchema.heads(connection, logger: logger) { observe(stream, head) }
    }
}
