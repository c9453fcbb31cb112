import EventflowLog
import Foundation
import Logging
import Testing

/// The storage engines the log contract runs against.
enum LogBackend: String, CaseIterable, Sendable {
    case sqlite
    case postgres

    /// A new, empty place for a log of this backend.
    func fresh() async throws -> LogLocation {
        switch self {
        case .sqlite: .directory(temporaryDirectory())
        case .postgres: .postgres(try await TestPostgres.freshDatabase())
        }
    }
}

/// Where a test's log lives; opening the same location again reopens the same log.
enum LogLocation: Sendable {
    case directory(String)
    case postgres(PostgresURL)
}

/// The PostgreSQL server of the test run: `make test` starts a throwaway one and passes its
/// URL in `EVENTFLOW_TEST_POSTGRES_URL`.
enum TestPostgres {
    static func freshDatabase() async throws -> PostgresURL {
        let text = try #require(
            ProcessInfo.processInfo.environment["EVENTFLOW_TEST_POSTGRES_URL"],
            "the PostgreSQL tests need a server: run `make test`, or set EVENTFLOW_TEST_POSTGRES_URL (see `make postgres`)")
        var logger = Logger(label: "test-postgres")
        logger.logLevel = .warning
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        return try await PostgresURL(text).creatingDatabase(named: name, logger: logger)
    }
}

@Suite struct PostgresURLTests {
    @Test func parsesTheUsualForms() throws {
        let url = try PostgresURL("postgres://app:s%40cret@db.internal:6432/events?sslmode=require")
        #expect(url == PostgresURL(host: "db.internal", port: 6432, username: "app", password: "s@cret", database: "events", requiresTLS: true))
        #expect(url.redacted == "postgres://app@db.internal:6432/events?sslmode=require")
        let local = try PostgresURL("postgresql://eventflow@127.0.0.1/eventflow")
        #expect(local.port == 5432 && local.password == nil && !local.requiresTLS)
    }

    @Test func textParsesBackToTheSameURL() throws {
        let url = PostgresURL(host: "db.internal", port: 6432, username: "app", password: "p@ss:w/rd", database: "events", requiresTLS: true)
        #expect(try PostgresURL(url.text) == url)
        #expect(url.text == "postgres://app:p%40ss%3Aw%2Frd@db.internal:6432/events?sslmode=require")
    }

    @Test func namesWhatIsWrong() {
        #expect(throws: PostgresURLError.self) { try PostgresURL("mysql://a@b/c") }
        #expect(throws: PostgresURLError("the URL has no user name: 'postgres://db/x'")) { try PostgresURL("postgres://db/x") }
        #expect(throws: PostgresURLError("sslmode 'verify-full' is not supported; use disable or require")) {
            try PostgresURL("postgres://a@db/x?sslmode=verify-full")
        }
    }

    /// The password shows in no message: not in a parse error, not when a URL or a value
    /// holding one is printed, not in `redacted`; only `text`, for another process, has it.
    @Test func thePasswordShowsInNoMessage() {
        for bad in ["postgres://app:hunter2@/events", "mysql://app:hunter2@db/events", "postgres://app:hunter2@db:99999999/events"] {
            do {
                _ = try PostgresURL(bad)
                Issue.record("\(bad) parsed")
            } catch {
                #expect(!error.description.contains("hunter2"), "\(error)")
                #expect(error.description.contains("app:***@"), "\(error)")
            }
        }
        let url = PostgresURL(host: "db", username: "app", password: "hunter2", database: "events")
        for shown in ["\(url)", String(reflecting: url), "\(LogLocation.postgres(url))", "\([url])", url.redacted] {
            #expect(!shown.contains("hunter2"), "\(shown)")
        }
        #expect(url.text.contains("hunter2"))
    }
}
