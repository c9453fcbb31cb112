import AcceptanceKit
import AsyncHTTPClient
import EventflowTesting
import Foundation
import NIOCore
import Synchronization
import Testing

/// What the clients were told: request name → first offset, for each 202.
final class Acknowledgements: Sendable {
    let byRequest = Mutex<[String: Int]>([:])
    var count: Int { byRequest.withLock { $0.count } }
}

/// Crash and shutdown behaviour of a real `eventflow serve` process.
@Suite(.serialized) struct DurabilityTests {
    static let eventsPerRequest = 10

    static func body(request: String) -> String {
        (0..<eventsPerRequest).map { #"{"id":"\#(request)-\#($0)","name":"load","timestamp":1763900000}"# }.joined(separator: "\n")
    }

    /// Sends NDJSON batches from several connections until the server stops answering.
    static func load(port: Int, workers: Int, into acknowledgements: Acknowledgements) async {
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var sequence = 0
                    while !Task.isCancelled {
                        let request = "w\(worker)-\(sequence)"
                        sequence += 1
                        var http = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/streams/events/events")
                        http.method = .POST
                        http.headers.add(name: "Content-Type", value: "application/x-ndjson")
                        http.body = .bytes(ByteBuffer(string: body(request: request)))
                        guard let response = try? await HTTPClient.shared.execute(http, timeout: .seconds(10)),
                            let data = try? await response.body.collect(upTo: 1 << 16)
                        else { return }
                        guard response.status.code == 202 else { continue }
                        let json = try? JSONSerialization.jsonObject(with: Data(buffer: data)) as? [String: Any]
                        guard let first = json?["first_offset"] as? Int else { continue }
                        acknowledgements.byRequest.withLock { $0[request] = first }
                    }
                }
            }
        }
    }

    /// Starts a server and keeps 16 connections sending until at least 300 requests were acknowledged.
    static func serveUnderLoad(dataDirectory: String) async throws -> (SpawnedServer, Acknowledgements, Task<Void, Never>) {
        let server = try await SpawnedServer.serve(dataDirectory: dataDirectory, arguments: ["--no-delivery"])
        let acknowledgements = Acknowledgements()
        let port = server.port
        let loadTask = Task { await load(port: port, workers: 16, into: acknowledgements) }
        while acknowledgements.count < 300 {
            guard server.isRunning else { throw SpawnError("eventflow exited under load:\n\(server.logText)") }
            try await Task.sleep(for: .milliseconds(10))
        }
        return (server, acknowledgements, loadTask)
    }

    /// Every event of `stream` in offset order, read through the HTTP read API.
    static func readAll(port: Int, stream: String) async throws -> [String] {
        var ids: [String] = []
        var from = 0
        while true {
            let response = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/streams/\(stream)/events?from=\(from)&limit=10000"), timeout: .seconds(30))
            let data = try await response.body.collect(upTo: 64 << 20)
            let json = try JSONSerialization.jsonObject(with: Data(buffer: data)) as? [String: Any]
            let events = json?["events"] as? [[String: Any]] ?? []
            guard !events.isEmpty else { return ids }
            for event in events {
                #expect(event["offset"] as? Int == ids.count, "offsets must be dense and in order")
                ids.append(event["id"] as? String ?? "")
            }
            from = ids.count
        }
    }

    /// Checks that every acknowledged request's events sit at its offsets, in order, and no id is stored twice.
    static func verify(stored: [String], acknowledged: [String: Int]) {
        for (request, first) in acknowledged {
            guard first + eventsPerRequest <= stored.count else {
                Issue.record("request \(request) was acknowledged at offset \(first) but the log ends at \(stored.count)")
                continue
            }
            #expect(Array(stored[first..<first + eventsPerRequest]) == (0..<eventsPerRequest).map { "\(request)-\($0)" })
        }
        #expect(Set(stored).count == stored.count, "an event is stored twice")
    }

    @Test func everyAcknowledgedEventSurvivesKillMinus9() async throws {
        let directory = temporaryDirectory()
        let (server, acknowledgements, load) = try await Self.serveUnderLoad(dataDirectory: directory)
        server.send(SIGKILL)
        let exit = try await server.waitForExit()
        #expect(exit.reason == .uncaughtSignal)
        load.cancel()
        await load.value
        let acknowledged = acknowledgements.byRequest.withLock { $0 }

        let restarted = try await SpawnedServer.serve(dataDirectory: directory, arguments: ["--no-delivery"])
        let stored = try await Self.readAll(port: restarted.port, stream: "events")
        #expect(stored.count >= acknowledged.count * Self.eventsPerRequest)
        Self.verify(stored: stored, acknowledged: acknowledged)
        restarted.send(SIGTERM)
        #expect(try await restarted.waitForExit().status == 0)
    }

    @Test func sigtermFinishesInFlightCommitsAndExitsZero() async throws {
        let directory = temporaryDirectory()
        let (server, acknowledgements, load) = try await Self.serveUnderLoad(dataDirectory: directory)
        server.send(SIGTERM)
        let exit = try await server.waitForExit()
        #expect(exit.reason == .exit)
        #expect(exit.status == 0, "exit status \(exit.status):\n\(server.logText)")
        #expect(server.logText.contains("log closed"))
        load.cancel()
        await load.value
        let acknowledged = acknowledgements.byRequest.withLock { $0 }

        let restarted = try await SpawnedServer.serve(dataDirectory: directory, arguments: ["--no-delivery"])
        let stored = try await Self.readAll(port: restarted.port, stream: "events")
        Self.verify(stored: stored, acknowledged: acknowledged)
        restarted.send(SIGTERM)
        #expect(try await restarted.waitForExit().status == 0)
    }
}

/// Delivery across a crash of the real `eventflow serve` process.
@Suite(.serialized) struct DeliveryCrashTests {
    @Test func deliveryResumesAfterKillMinus9WithDuplicatesOnlyFromWhatWasInFlight() async throws {
        let target = try await SpawnedServer.start(arguments: ["target", "--latency-ms", "10"])
        let probe = TargetProbe(port: target.port)
        let directory = temporaryDirectory()
        let concurrency = 8
        // All 3,000 are stored before delivery starts (ingesting them on a busy machine took
        // longer than delivering them did, and the kill came after the last one). Delivery is
        // then held to 250 events/s: the 2,500 left after the kill point take 10 s to deliver,
        // so the kill lands mid-delivery however slowly this test process is scheduled.
        let ingesting = try await SpawnedServer.serve(dataDirectory: directory, arguments: ["--no-delivery"])
        try await ingestEvents(port: ingesting.port, prefix: "crash", count: 3_000)
        await ingesting.stop()
        let arguments = [
            "--target-url", probe.deliverURL, "--target-concurrency", String(concurrency), "--target-rate", "250", "--retry-max-ms", "500",
        ]
        let server = try await SpawnedServer.serve(dataDirectory: directory, arguments: arguments)
        while try await probe.summary()["unique", default: 0] < 500 {
            try await Task.sleep(for: .milliseconds(10))
        }
        server.send(SIGKILL)
        _ = try await server.waitForExit()
        let deliveredBeforeCrash = try await probe.summary()["unique", default: 0]
        #expect(deliveredBeforeCrash < 3_000, "the crash must happen mid-delivery")

        let restarted = try await SpawnedServer.serve(dataDirectory: directory, arguments: arguments)
        try await probe.waitForUnique(3_000)
        let summary = try await probe.summary()
        let ledger = try await probe.ledger()
        #expect((0..<3_000).allSatisfy { ledger["crash-\($0)"]?.delivered != nil })
        // Resent after the restart: what was in flight, plus what was delivered while the
        // last cursor commit was on its way (a few milliseconds at 250 deliveries/s).
        #expect(summary["duplicates", default: 0] <= concurrency * 8, "\(summary)")
        await restarted.stop()
        await target.stop()
    }
}
