import EventflowLog
import EventflowTesting
import Foundation
import Logging
import Testing

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
