import AsyncHTTPClient
import EventflowServer
import EventflowTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct GroupCommitTests {
    @Test func concurrentRequestsShareTransactionsAndAllAreAcknowledged() async throws {
        try await withServer { client, port in
            let bodies = (0..<200).map { request in
                (0..<5).map { #"{"id":"r\#(request)-\#($0)","name":"n","timestamp":1}"# }.joined(separator: "\n")
            }
            let responses = try await concurrentPosts(port: port, path: "/v1/streams/events/events", bodies: bodies)
            #expect(responses.allSatisfy { $0.status == 202 })
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            let commits = try #require(metricValue(metrics, "eventflow_log_append_duration_seconds_count"))
            #expect(commits > 0)
            #expect(commits < 200, "200 concurrent requests took \(commits) transactions")
            #expect(metricValue(metrics, #"eventflow_ingest_events_total{stream="events"}"#) == 1_000)
            #expect(try await client.headOffsets()["events"] == 1_000)
        }
    }

    @Test func aFloodBeyondThePendingLimitGets503WithRetryAfterAndLosesNothing() async throws {
        try await withServer({ $0.groupCommit.maxPendingEvents = 50 }) { client, port in
            let bodies = (0..<150).map { request in
                (0..<20).map { #"{"id":"f\#(request)-\#($0)","name":"n","timestamp":1}"# }.joined(separator: "\n")
            }
            let responses = try await concurrentPosts(port: port, path: "/v1/streams/events/events", bodies: bodies)
            let refused = responses.filter { $0.status == 503 }
            #expect(!refused.isEmpty)
            #expect(refused.allSatisfy { $0.headers.first(name: "Retry-After") == "1" })
            #expect(responses.allSatisfy { $0.status == 202 || $0.status == 503 })

            var acknowledged: [String: Int] = [:]
            for (index, response) in responses.enumerated() where response.status == 202 {
                let json = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any]
                acknowledged["f\(index)"] = json?["first_offset"] as? Int
            }
            let read = try await client.execute(uri: "/v1/streams/events/events?limit=10000", method: .get)
            let stored = (read.json["events"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(stored.count == acknowledged.count * 20)
            for (request, first) in acknowledged {
                #expect(Array(stored[first..<first + 20]) == (0..<20).map { "\(request)-\($0)" })
            }
        }
    }

    @Test func aFullDiskAnswers503AndTurnsReadinessOff() async throws {
        try await withServer({ $0.maxDatabaseBytes = 1 << 20 }) { client, _ in
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            let filler = String(repeating: "x", count: 60_000)
            var statuses: [HTTPResponse.Status] = []
            while statuses.last != .serviceUnavailable, statuses.count < 50 {
                statuses.append(try await client.ingest("events", #"{"id":"big","name":"n","body":"\#(filler)","timestamp":1}"#).status)
            }
            #expect(statuses.last == .serviceUnavailable)
            let acknowledged = statuses.filter { $0 == .accepted }.count
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect((ready.json["reason"] as? String)?.contains("not writable") == true)
            #expect(try await client.headOffsets()["events"] == acknowledged)
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
    }
}
