public import EventflowLog
import Foundation
import Logging
import Testing

/// The PostgreSQL server of the test run: `make test` starts a throwaway one and passes its
/// URL in `EVENTFLOW_TEST_POSTGRES_URL`.
public enum TestPostgres {
    public static func freshDatabase() async throws -> PostgresURL {
        let text = try #require(
            ProcessInfo.processInfo.environment["EVENTFLOW_TEST_POSTGRES_URL"],
            "the PostgreSQL tests need a server: run `make test`, or set EVENTFLOW_TEST_POSTGRES_URL (see `make postgres`)")
        var logger = Logger(label: "test-postgres")
        logger.logLevel = .warning
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        return try await PostgresURL(text).creatingDatabase(named: name, logger: logger)
    }
}
