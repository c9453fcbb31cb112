import EventflowCore
import EventflowServer
import EventflowTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

extension TestClientProtocol {
    /// GETs `uri` until `done` holds for its JSON, or fails after `timeout`; returns the last JSON.
    @discardableResult
    func poll(_ uri: String, timeout: Duration = .seconds(20), until done: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let json = try await execute(uri: uri, method: .get).json
            if done(json) { return json }
            guard ContinuousClock.now < deadline else {
                Issue.record("\(uri) still answered \(json) after \(timeout)")
                return json
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// The four processors beyond delivery, through their HTTP APIs on a real server.
@Suite struct ProcessorTests {
    @Test(arguments: TestStorage.allCases) func domainsAreCatchAllAboveAThousandDeliveriesUntilABounce(storage: TestStorage) async throws {
        try await withServer(storage: storage) { client, port in
            let delivered = (0..<1000).map { _ in #"{"domain":"Example.COM","type":"delivered"}"# }.joined(separator: "\n")
            #expect(try await client.ingest("domains", delivered, contentType: "application/x-ndjson").status == .accepted)
            try await client.execute(uri: "/events/bounces.org/bounced", method: .put)
            var json = try await client.poll("/domains/example.com") { $0["delivered"] as? Int == 1000 }
            #expect(json["status"] as? String == "unknown")
            try await client.execute(uri: "/events/example.com/delivered", method: .put)
            json = try await client.poll("/domains/EXAMPLE.com") { $0["delivered"] as? Int == 1001 }
            #expect(json["status"] as? String == "catch-all")
            #expect(json["domain"] as? String == "example.com")
            try await client.execute(uri: "/events/example.com/bounced", method: .put)
            json = try await client.poll("/domains/example.com") { $0["bounced"] as? Int == 1 }
            #expect(json["status"] as? String == "not catch-all")
            #expect(try await client.execute(uri: "/domains/bounces.org", method: .get).json["status"] as? String == "not catch-all")
            #expect(try await client.execute(uri: "/domains/never-seen.net", method: .get).json["status"] as? String == "unknown")
            let invalid = try await client.execute(uri: "/domains/bad_name", method: .get)
            #expect(invalid.status == .badRequest)
            #expect(invalid.json["field"] as? String == "domain")
        }
    }

    @Test(arguments: TestStorage.allCases) func logStoreFlushesFullBatchesAtOnceAndKeepsBothTablesInStep(storage: TestStorage) async throws {
        try await withServer(storage: storage, { $0.logStore = LogStoreConfiguration(batchSize: 3, flushInterval: 600) }) { client, _ in
            let severities = ["info", "warn", "error", "info", "info", "fatal", "debug"]
            let lines = severities.enumerated().map { index, severity in
                #"{"service_name":"api","payload":"line \#(index)","severity":"\#(severity)","timestamp":\#(1_700_000_000 + index)}"#
            }
            #expect(try await client.ingest("logs", lines.joined(separator: "\n"), contentType: "application/x-ndjson").status == .accepted)
            let json = try await client.poll("/v1/logs/severity?service=api") { json in
                ((json["counts"] as? [String: Int]) ?? [:]).values.reduce(0, +) == 6
            }
            #expect(json["counts"] as? [String: Int] == ["debug": 0, "info": 3, "warn": 1, "error": 1, "fatal": 1])
            let stored = try await client.execute(uri: "/v1/logs?service=api&limit=100", method: .get).json["logs"] as? [[String: Any]] ?? []
            #expect(stored.count == 6, "the seventh line waits for a full batch or the 600 s interval")
            #expect(stored.first?["payload"] as? String == "line 5")
            let errors = try await client.execute(uri: "/v1/logs?service=api&severity=error", method: .get).json["logs"] as? [[String: Any]]
            #expect(errors?.map { $0["payload"] as? String } == ["line 2"])
            #expect(try await client.execute(uri: "/v1/logs?severity=loud", method: .get).status == .badRequest)
        }
    }

    @Test(arguments: TestStorage.allCases) func logStoreFlushesAPartialBatchAfterTheInterval(storage: TestStorage) async throws {
        try await withServer(storage: storage, { $0.logStore = LogStoreConfiguration(batchSize: 5000, flushInterval: 0.2) }) { client, _ in
            #expect(try await client.ingest("logs", #"{"service_name":"db","payload":"p","severity":"warn","timestamp":"2026-01-01T00:00:00Z"}"#).status == .accepted)
            try await client.poll("/v1/logs/severity?service=db") { ($0["counts"] as? [String: Int])?["warn"] == 1 }
        }
    }

    @Test(arguments: TestStorage.allCases) func uniqueUsersCountsTopLevelFieldsPerWindowAndDropsFramesPastTheLateness(storage: TestStorage) async throws {
        try await withServer(storage: storage) { client, _ in
            let base = 1_468_244_340
            let frames = [
                #"{"uid":"a1b2c3d4e5f6a7b8c9d","ts":\#(base + 1),"meta":{"uid":17,"ts":"later","uid":"dup"}}"#,
                #"{"uid":"a1b2c3d4e5f6a7b8c9e","ts":\#((base + 2) * 1000),"filler":"\#(String(repeating: "x", count: 2000))"}"#,
                #"{"uid":"a1b2c3d4e5f6a7b8c9d","ts":\#(base + 59)}"#,
                #"{"uid":"a1b2c3d4e5f6a7b8c9f","ts":\#(base + 64)}"#,
                #"{"uid":"a1b2c3d4e5f6a7b8ca0","ts":\#(base + 30)}"#,
                #"{"uid":"a1b2c3d4e5f6a7b8ca1","ts":\#(base + 70)}"#,
                #"{"uid":"a1b2c3d4e5f6a7b8ca2","ts":\#(base + 10)}"#,
            ]
            #expect(try await client.ingest("frames", frames.joined(separator: "\n"), contentType: "application/x-ndjson").status == .accepted)
            let json = try await client.poll("/v1/unique-users?window=1m") { json in
                ((json["results"] as? [[String: Any]]) ?? []).first?["late_dropped"] as? Int == 1
            }
            let results = json["results"] as? [[String: Any]] ?? []
            #expect(results.count == 2)
            #expect(results.first?["start"] as? Int == base)
            #expect(results.first?["users"] as? Int == 3)
            #expect(results.first?["frames"] as? Int == 4)
            #expect(results.first?["final"] as? Bool == true)
            #expect(results.last?["users"] as? Int == 2)
            #expect(results.last?["final"] as? Bool == false)
            #expect(try await client.execute(uri: "/v1/unique-users?window=7m", method: .get).json["field"] as? String == "window")
            let ranged = try await client.execute(uri: "/v1/unique-users?from=\(base + 60)&to=\(base + 120)", method: .get).json
            #expect((ranged["results"] as? [[String: Any]])?.count == 1)
        }
    }

    @Test(arguments: TestStorage.allCases) func uniqueUsersPublishesEmittedResultsToTheResultsURL(storage: TestStorage) async throws {
        let received = Mutex<[Data]>([])
        @Sendable func results() -> [[String: Any]] {
            received.withLock { $0 }.flatMap { (try? JSONSerialization.jsonObject(with: $0)) as? [[String: Any]] ?? [] }
        }
        let router = Router()
        router.post("/results") { request, _ -> HTTPResponse.Status in
            let body = Data(buffer: try await request.body.collect(upTo: 1 << 20))
            received.withLock { $0.append(body) }
            return .ok
        }
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { receiver in
            try await withServer(storage: storage, { $0.uniqueUsers?.resultsURL = "http://127.0.0.1:\(receiver.port!)/results" }) { client, _ in
                let frames = [
                    #"{"uid":"a1","ts":1468244341}"#, #"{"uid":"a2","ts":1468244342}"#, #"{"uid":"a1","ts":1468244343}"#,
                    #"{"uid":"a3","ts":1468244406}"#,
                ]
                #expect(try await client.ingest("frames", frames.joined(separator: "\n"), contentType: "application/x-ndjson").status == .accepted)
                let deadline = ContinuousClock.now + .seconds(20)
                while !results().contains(where: { $0["final"] as? Bool == true }), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                let final = results().first { $0["final"] as? Bool == true }
                #expect(final?["window"] as? String == "1m")
                #expect(final?["start"] as? Int == 1_468_244_340)
                #expect(final?["users"] as? Int == 2)
                #expect(final?["frames"] as? Int == 3)
            }
        }
    }

    @Test(arguments: TestStorage.allCases) func accountsKeepTheNewestVersionAndANewerVersionCancelsThePendingCallback(storage: TestStorage) async throws {
        try await withTarget { target in
            try await withServer(storage: storage, { configuration in
                configuration.accounts = AccountsConfiguration(callbackURL: "http://127.0.0.1:\(target.port)/callbacks", retry: RetrySchedule(initial: 0.02, maximum: 0.2))
            }) { client, _ in
                func update(_ id: String, version: Int, tokens: Int, callbackMs: Int, type: String = "mint") -> String {
                    #"{"id":"\#(id)","accountType":"\#(type)","tokens":\#(tokens),"callbackTimeMs":\#(callbackMs),"data":{"v":\#(version)},"version":\#(version)}"#
                }
                #expect(try await client.ingest("accounts", update("slow", version: 1, tokens: 10, callbackMs: 600_000)).status == .accepted)
                #expect(try await client.ingest("accounts", update("slow", version: 3, tokens: 30, callbackMs: 50)).status == .accepted)
                #expect(try await client.ingest("accounts", update("slow", version: 2, tokens: 99, callbackMs: 50)).status == .accepted)
                #expect(try await client.ingest("accounts", update("other", version: 1, tokens: 20, callbackMs: 0, type: "escrow")).status == .accepted)
                let missing = try await client.ingest("accounts", #"{"id":"x","accountType":"mint","tokens":1,"callbackTimeMs":1}"#)
                #expect(missing.status == .badRequest)
                #expect(missing.json["field"] as? String == "version")

                let slow = try await client.poll("/v1/accounts/slow") { $0["callback"] as? String == "fired" }
                #expect(slow["version"] as? Int == 3)
                #expect(slow["tokens"] as? Int == 30)
                #expect(slow["data"] as? [String: Int] == ["v": 3])
                try await client.poll("/v1/accounts/other") { $0["callback"] as? String == "fired" }
                let callbacks = try await target.get("/callbacks/ledger").split(separator: "\n").compactMap {
                    (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
                }
                #expect(Set(callbacks.compactMap { $0["id"] as? String }) == ["slow:3", "other:1"])
                let top = try await client.execute(uri: "/v1/accounts/top", method: .get).json["top"] as? [[String: Any]]
                #expect(top?.map { $0["accountType"] as? String } == ["escrow", "mint"])
                #expect(top?.last?["tokens"] as? Int == 30)
                #expect(try await client.execute(uri: "/v1/accounts/nobody", method: .get).status == .notFound)
                let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
                #expect(metricValue(metrics, "eventflow_accounts_indexed_total") == 3)
                #expect(metricValue(metrics, "eventflow_accounts_ignored_stale_total") == 1)
                #expect(metricValue(metrics, "eventflow_account_callbacks_cancelled_total") == 1)
                #expect(metricValue(metrics, "eventflow_account_callbacks_fired_total") == 2)
            }
        }
    }

    @Test(arguments: TestStorage.allCases) func theRetryOfACallbackThatANewerVersionReplacedIsDropped(storage: TestStorage) async throws {
        try await withTarget({ $0.faults.errorRate = 1 }) { target in
            try await withServer(storage: storage, { configuration in
                configuration.accounts = AccountsConfiguration(callbackURL: "http://127.0.0.1:\(target.port)/callbacks", retry: RetrySchedule(initial: 0.02, maximum: 0.2))
            }) { client, _ in
                func update(version: Int, callbackMs: Int) -> String {
                    #"{"id":"flaky","accountType":"mint","tokens":1,"callbackTimeMs":\#(callbackMs),"version":\#(version)}"#
                }
                #expect(try await client.ingest("accounts", update(version: 1, callbackMs: 0)).status == .accepted)
                // The callback URL fails every time: version 1's callback waits for its next attempt.
                try await client.pollMetric("eventflow_account_callback_retries_waiting") { $0 == 1 }
                try await client.pollMetric("eventflow_account_callback_attempts_total") { ($0 ?? 0) >= 2 }

                #expect(try await client.ingest("accounts", update(version: 2, callbackMs: 600_000)).status == .accepted)
                let account = try await client.poll("/v1/accounts/flaky") { $0["version"] as? Int == 2 }
                #expect(account["callback"] as? String == "pending")
                // Version 1's callback no longer exists, so neither does its retry.
                try await client.pollMetric("eventflow_account_callback_retries_waiting") { $0 == 0 }
            }
        }
    }
}
