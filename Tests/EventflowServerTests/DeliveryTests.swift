import AsyncHTTPClient
import EventflowCore
import EventflowServer
import EventflowTarget
import EventflowTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Ingests `count` events with ids `prefix-0…` as NDJSON batches of 100.
func ingestEvents(port: Int, prefix: String, count: Int, firstID: String? = nil) async throws {
    var ids = (0..<count).map { "\(prefix)-\($0)" }
    if let firstID { ids[0] = firstID }
    let bodies = stride(from: 0, to: count, by: 100).map { start in
        ids[start..<min(start + 100, count)].map { #"{"id":"\#($0)","name":"n","timestamp":1}"# }.joined(separator: "\n")
    }
    for body in bodies {
        let responses = try await concurrentPosts(port: port, path: "/v1/streams/events/events", bodies: [body])
        #expect(responses[0].status == 202)
    }
}

func delivery(to target: TargetProbe, _ configure: (inout DeliveryConfiguration) -> Void = { _ in }) -> DeliveryConfiguration {
    var delivery = DeliveryConfiguration(
        targetURL: target.deliverURL, timeout: .milliseconds(500), retry: RetrySchedule(initial: 0.02, maximum: 0.2, multiplier: 2))
    configure(&delivery)
    return delivery
}

@Suite(.serialized) struct DeliveryTests {
    @Test(arguments: TestStorage.allCases) func deliversEveryAcceptedEventOnce(storage: TestStorage) async throws {
        try await withTarget { target in
            // A timeout long enough that no request times out on a loaded machine: then a duplicate is a bug, not a retry.
            try await withServer(storage: storage, { $0.delivery = delivery(to: target) { $0.timeout = .seconds(10) } }) { client, port in
                try await ingestEvents(port: port, prefix: "once", count: 1_000)
                try await target.waitForUnique(1_000)
                let summary = try await target.summary()
                #expect(summary["duplicates"] == 0)
                let ledger = try await target.ledger()
                #expect((0..<1_000).allSatisfy { ledger["once-\($0)"]?.delivered != nil })
                let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
                #expect(metricValue(metrics, "eventflow_delivered_events_total") == 1_000)
            }
        }
    }

    @Test(arguments: TestStorage.allCases) func deliversEverythingThroughErrorsAndTimeouts(storage: TestStorage) async throws {
        try await withTarget({
            $0.faults.errorRate = 0.3
            $0.faults.timeoutRate = 0.05
            $0.faults.timeoutHoldMs = 1_000
        }) { target in
            try await withServer(storage: storage, { $0.delivery = delivery(to: target) }) { _, port in
                try await ingestEvents(port: port, prefix: "flaky", count: 500)
                try await target.waitForUnique(500)
                let summary = try await target.summary()
                #expect(summary["errors_injected", default: 0] > 50)
                #expect(summary["unique"] == 500)
            }
        }
    }

    @Test func deliversEverythingAcrossAnOutage() async throws {
        try await withTarget({ $0.outage = TargetOutage(startSeconds: 0.5, durationSeconds: 2.5) }) { target in
            try await withServer({ $0.delivery = delivery(to: target) }) { _, port in
                try await Task.sleep(for: .milliseconds(600))
                try await ingestEvents(port: port, prefix: "outage", count: 300)
                try await target.waitForUnique(300)
                #expect(try await target.summary()["errors_injected", default: 0] > 0)
            }
        }
    }

    /// With the stream cut into partitions, their shares of the limit add up to it.
    @Test(arguments: [1, 4]) func staysUnderTheTargetsRateLimitAndUsesIt(partitions: Int) async throws {
        // The target's burst is twice the one delivery spends, so requests that reach it bunched
        // (a starved event loop on a busy machine) are not throttled; a delivery that ignored the
        // limit would still exceed it at once.
        try await withTarget({ $0.rateLimit = .tokenBucket(rate: 200, burst: 40) }) { target in
            try await withServer({
                $0.delivery = delivery(to: target) { delivery in
                    delivery.targetRate = 200
                    delivery.targetBurst = 20
                    delivery.partitions = partitions
                }
            }) { _, port in
                try await ingestEvents(port: port, prefix: "rate", count: 1_500)
                try await target.waitForUnique(1_500)
                #expect(try await target.summary()["throttled"] == 0)
                let times = try await target.ledger().values.compactMap(\.delivered).sorted()
                let seconds = Double(times.last! - times.first!) / 1000
                let rate = Double(times.count - 20) / seconds
                // Uses the limit: a loose floor, since how close delivery comes to it depends on how busy the machine is.
                #expect(rate >= 0.5 * 200, "delivered at \(rate)/s against a limit of 200/s")
                #expect(rate <= 200)
            }
        }
    }

    @Test(arguments: TestStorage.allCases) func permanentRejectionsGoToDeadLettersAndReplay(storage: TestStorage) async throws {
        try await withTarget({ $0.faults.permanentErrorRate = 0.2 }) { target in
            // A timeout long enough for a busy machine: a request that timed out after the target
            // took it, retried and then rejected, would be both delivered and dead-lettered.
            try await withServer(storage: storage, { $0.delivery = delivery(to: target) { $0.timeout = .seconds(5) } }) { client, port in
                try await ingestEvents(port: port, prefix: "dead", count: 200)
                var letters: [[String: Any]] = []
                let deadline = ContinuousClock.now + .seconds(30)
                while ContinuousClock.now < deadline {
                    let delivered = try await target.summary()["unique", default: 0]
                    letters = try await client.execute(uri: "/v1/dead-letters", method: .get).json["dead_letters"] as? [[String: Any]] ?? []
                    if delivered + letters.count == 200 { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(!letters.isEmpty)
                #expect(letters.allSatisfy { $0["status"] as? Int == 422 && ($0["response"] as? String)?.contains("rejected") == true })
                let ledger = try await target.ledger()
                let deadIDs = letters.compactMap { $0["id"] as? String }
                #expect(deadIDs.allSatisfy { ledger[$0]?.delivered == nil })
                #expect(try await target.summary()["unique", default: 0] + deadIDs.count == 200)

                try await target.setFaults(#"{"permanent_error_rate":0}"#)
                let replay = try await client.execute(uri: "/v1/dead-letters/replay", method: .post, body: ByteBuffer(string: "{}"))
                #expect(replay.json["replayed"] as? Int == deadIDs.count)
                try await target.waitForUnique(200)
                let remaining = try await client.execute(uri: "/v1/dead-letters", method: .get).json["count"] as? Int
                #expect(remaining == 0)
            }
        }
    }

    /// With partitions, the stuck event's partition asks the others to hold too (they learn
    /// it within a quarter of a second).
    @Test(arguments: [1, 4]) func holdsLaterEventsBehindAStuckOneAfterTheWindow(partitions: Int) async throws {
        let slackMs = partitions == 1 ? 100 : 500
        try await withTarget({
            $0.faults.failIdsPrefix = "stuck"
            $0.faults.failIdsForSeconds = 3
        }) { target in
            try await withServer({
                $0.delivery = delivery(to: target) { delivery in
                    delivery.orderingWindow = 1
                    delivery.concurrency = 4
                    delivery.targetRate = 100
                    delivery.targetBurst = 10
                    delivery.partitions = partitions
                }
            }) { client, port in
                try await ingestEvents(port: port, prefix: "after", count: 600, firstID: "stuck-0")
                var sawBlocked = false
                let deadline = ContinuousClock.now + .seconds(60)
                while try await target.summary()["unique", default: 0] < 600, ContinuousClock.now < deadline {
                    let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
                    if (metricValue(metrics, "eventflow_delivery_head_blocked_seconds") ?? 0) > 0 { sawBlocked = true }
                    try await Task.sleep(for: .milliseconds(50))
                }
                let ledger = try await target.ledger()
                let stuck = try #require(ledger["stuck-0"])
                let stuckDelivered = try #require(stuck.delivered)
                #expect(stuckDelivered - stuck.firstAttempt >= 3_000)
                let overtaking = ledger.filter { $0.key != "stuck-0" && ($0.value.delivered ?? .max) < stuckDelivered }
                // Only events sent within the window after the stuck one's first attempt may overtake it.
                let late = overtaking.filter { $0.value.firstAttempt > stuck.firstAttempt + 1_000 + slackMs }
                #expect(late.isEmpty, "\(late.count) events were first sent more than the window after the stuck one and delivered before it")
                #expect(!overtaking.isEmpty)
                #expect(overtaking.count < 599, "later events were held back")
                #expect(sawBlocked)
            }
        }
    }

    /// Cursors of another partition layout would be left behind (and their events sent
    /// again from the start): a process configured differently refuses to run and says how to fix it.
    /// The whole application stops with the refusal, on either log.
    @Test(arguments: TestStorage.allCases) func refusesToStartWhenTheLogsDeliveryCursorsAreCutDifferently(storage: TestStorage) async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try await storage.make()
        try await withTarget { target in
            try await withServer(log: log, {
                $0.dataDirectory = directory
                $0.delivery = delivery(to: target) { $0.partitions = 4 }
            }) { _, port in
                try await ingestEvents(port: port, prefix: "cut", count: 10)
                try await target.waitForUnique(10)
            }
            var configuration = ServerConfiguration(port: 0, dataDirectory: directory, delivery: delivery(to: target) { $0.partitions = 1 })
            configuration.storage = log
            let app = try await EventflowApplication.build(configuration: configuration, logger: quietLogger)
            let outcome = await outcome { try await app.runService(gracefulShutdownSignals: []) }
            #expect(outcome?.contains("cut in 4 partition(s)") == true, "\(outcome ?? "still running after 20 s")")
            #expect(outcome?.contains("--deliver-partitions 4") == true)
        }
    }
}
