import AcceptanceKit
import AsyncHTTPClient
import EventflowCore
import EventflowLog
import EventflowServer
import EventflowTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

/// Single inputs, clients and peers that used to crash or wedge the server: each now costs
/// only itself.
@Suite struct HostileInputTests {
    @Test func aWindowOutOfRangeIsA400NamingItAndTheServerKeepsServing() async throws {
        try await withServer { client, _ in
            for window in ["inf", "1e19s", "99999999999999999999d", "nan", "-1m", "0.5s"] {
                let response = try await client.execute(uri: "/v1/unique-users?window=\(window)", method: .get)
                #expect(response.status == .badRequest, "window=\(window)")
                #expect(response.json["field"] as? String == "window", "window=\(window)")
            }
            #expect(try await client.execute(uri: "/v1/unique-users?window=1m", method: .get).status == .ok)
        }
    }

    @Test func anIdWithAControlCharacterIsA400NamingTheField() async throws {
        try await withServer { client, _ in
            let response = try await client.ingest("events", #"{"id":"p\u0001q","name":"n","timestamp":1}"#)
            #expect(response.status == .badRequest)
            #expect(response.json["field"] as? String == "id")
            #expect(try await client.headOffsets()["events"] == 0)
        }
    }

    @Test func aFrameFarInTheFutureIsRefusedAndCurrentFramesStillCount() async throws {
        try await withServer { client, _ in
            let future = try await client.ingest("frames", #"{"uid":"u0","ts":99999999999}"#)
            #expect(future.status == .badRequest)
            #expect(future.json["field"] as? String == "ts")
            let now = Int(Date().timeIntervalSince1970)
            let frames = (0..<200).map { #"{"uid":"u\#($0)","ts":\#(now - 120)}"# }.joined(separator: "\n")
            #expect(try await client.ingest("frames", frames, contentType: "application/x-ndjson").status == .accepted)
            #expect(try await client.ingest("frames", #"{"uid":"tick","ts":\#(now)}"#).status == .accepted)
            let window = (now - 120) / 60 * 60
            let deadline = ContinuousClock.now + .seconds(20)
            var users = 0
            while users < 200, ContinuousClock.now < deadline {
                let json = try await client.execute(uri: "/v1/unique-users?window=1m&from=\(window)&to=\(window + 1)", method: .get).json
                users = ((json["results"] as? [[String: Any]])?.first?["users"] as? Int) ?? 0
                if users < 200 { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(users == 200)
        }
    }

    @Test func aKeyWithMoreBytesAfterTheRealOneIsRefused() async throws {
        try await withServer({ $0.apiKey = "K" }) { client, _ in
            let longer = try await client.ingest(
                "events", #"{"id":"a","name":"n","timestamp":1}"#, headers: [HTTPField.Name("X-Api-Key")!: "K" + String(repeating: "x", count: 256)])
            #expect(longer.status == .unauthorized)
            let prefix = try await client.ingest("events", #"{"id":"a","name":"n","timestamp":1}"#, headers: [HTTPField.Name("X-Api-Key")!: ""])
            #expect(prefix.status == .unauthorized)
            let right = try await client.ingest("events", #"{"id":"a","name":"n","timestamp":1}"#, headers: [HTTPField.Name("X-Api-Key")!: "K"])
            #expect(right.status == .accepted)
        }
    }

    @Test func anEmptyEnvironmentKeyDoesNotDisableTheConfiguredOne() throws {
        #expect(APIKeySource.environmentKey(["EVENTFLOW_API_KEY": ""]) == nil)
        #expect(APIKeySource.environmentKey(["EVENTFLOW_API_KEY": "s3cret"]) == "s3cret")
        #expect(throws: ConfigError.self) { try APIKeySource.key("", from: "--api-key") }
        let file = temporaryDirectory() + "/key"
        try "s3cret\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try APIKeySource.key(fromFile: file, setting: "--api-key-file") == "s3cret")
    }

    @Test func theConfigFilesEdgeLimitsApplyAndNameTheirKey() throws {
        let path = temporaryDirectory() + "/eventflow.yaml"
        try "server: { port: 9000, idle_timeout: 2s, max_connections: 50, max_future_skew: 10m }\n".write(toFile: path, atomically: true, encoding: .utf8)
        var configuration = ServerConfiguration()
        try ConfigFile.load(path: path).apply(to: &configuration)
        #expect(configuration.port == 9000)
        #expect(configuration.connections.idleTimeout == .seconds(2))
        #expect(configuration.connections.maxConnections == 50)
        #expect(configuration.maxFutureSkew == .seconds(600))
        try "server: { header_timeout: inf }\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect { try ConfigFile.load(path: path).apply(to: &configuration) } throws: { "\($0)".hasPrefix("server.header_timeout") }
    }

    @Test func withAMetricsPortTheFiguresAreServedThereOnly() async throws {
        let metricsPort = try freeLoopbackPort()
        try await withServer({ $0.metricsPort = metricsPort }) { client, _ in
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            // The metrics listener starts beside the main one: wait (up to 10 s) until it accepts.
            let probe = HTTPProbe(baseURL: "http://127.0.0.1:\(metricsPort)")
            let deadline = ContinuousClock.now + .seconds(10)
            var answer = try? await probe.get("/metrics")
            while answer == nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                answer = try? await probe.get("/metrics")
            }
            let metrics = try #require(answer)
            #expect(metrics.status == 200)
            #expect(metrics.text.contains("eventflow_ingest_events_total"))
            #expect(try await probe.get("/readyz").status == 200)
        }
    }

    @Test func portsOutOfRangeNameTheirKey() throws {
        let path = temporaryDirectory() + "/eventflow.yaml"
        try "server: { metrics_port: 70000 }\n".write(toFile: path, atomically: true, encoding: .utf8)
        var configuration = ServerConfiguration()
        #expect { try ConfigFile.load(path: path).apply(to: &configuration) } throws: { "\($0)".hasPrefix("server.metrics_port") }
        #expect(throws: ConfigError.self) { try ServerConfiguration.checkedPort(-1, setting: "--port") }
        #expect(try ServerConfiguration.checkedPort(0, setting: "--port") == 0)
    }

    @Test func edgeSettingsOutOfRangeNameTheirKey() {
        var configuration = ServerConfiguration()
        for (settings, key) in [
            (EdgeSettings(idleTimeout: "inf"), "--idle-timeout"), (EdgeSettings(headerTimeout: "0s"), "--header-timeout"),
            (EdgeSettings(maxConnections: 0), "--max-connections"), (EdgeSettings(maxFutureSkew: "1e19s"), "--max-future-skew"),
        ] {
            do {
                try settings.apply(to: &configuration, naming: \.flag)
                Issue.record("\(key) accepted")
            } catch {
                #expect(error.description.hasPrefix(key), "\(error)")
            }
        }
    }
}

/// Connections that idle, trickle or keep sending after the answer are closed.
@Suite struct ConnectionLimitTests {
    @Test func anIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout() async throws {
        // Long enough that a starved test process still sends its request before the timeout.
        try await withServer({ $0.connections.idleTimeout = .seconds(2) }) { _, port in
            let connection = try await RawConnection.open(port: port)
            let (received, closedAfter) = try await connection.exchange(
                writing: ["GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"], limit: .seconds(15))
            #expect(received.hasPrefix("HTTP/1.1 200"))
            let closed = try #require(closedAfter, "the idle connection was still open after 15 s")
            #expect(closed >= .milliseconds(1900))
        }
    }

    @Test func aClientTricklingItsHeadersIsClosedAfterTheHeaderTimeout() async throws {
        try await withServer({
            $0.connections.headerTimeout = .milliseconds(500)
            $0.connections.idleTimeout = .seconds(60)
        }) { _, port in
            let connection = try await RawConnection.open(port: port)
            let trickle = ["GET /healthz HTTP/1.1\r\n"] + (0..<100).map { "X-Slow-\($0): y\r\n" }
            let (_, closedAfter) = try await connection.exchange(writing: trickle, pause: .milliseconds(100), limit: .seconds(10))
            let closed = try #require(closedAfter, "the slowloris connection was still open after 10 s")
            #expect(closed < .seconds(5))
        }
    }

    @Test func aBodyStillComingAfterAnEarly413GetsTheAnswerAndAClose() async throws {
        try await withServer({ $0.maxBodyBytes = 1024 }) { _, port in
            let connection = try await RawConnection.open(port: port)
            let size = 6_000_000
            let head = "POST /v1/streams/events/events HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: \(size)\r\n\r\n"
            let chunk = String(repeating: "x", count: 60_000)
            let (received, closedAfter) = try await connection.exchange(writing: [head] + Array(repeating: chunk, count: size / 60_000), limit: .seconds(20))
            #expect(received.hasPrefix("HTTP/1.1 413"), "\(received.prefix(200))")
            #expect(received.lowercased().contains("connection: close"))
            #expect(closedAfter != nil, "the connection was still open after 20 s")
        }
    }
}

/// Requests a test peer answered.
final class RequestCount: Sendable {
    let value = Mutex(0)
}

/// What clients can make the process hold is bounded in bytes.
@Suite struct InflightBodyTests {
    @Test func bodiesBeingReadShareOneByteBudget() async throws {
        try await withServer({ $0.connections.maxInflightBodyBytes = 1 << 20 }) { client, port in
            // A client announces 700,000 bytes, sends ten, and dawdles: its reservation stands
            // until it gives up (here when the test cancels it).
            let slow = try await RawConnection.open(port: port)
            let head = "POST /v1/streams/events/events HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 700000\r\n\r\n"
            let holding = Task { try await slow.exchange(writing: [head, "0123456789"], limit: .seconds(60)) }
            #expect(try await client.ingest("events", #"{"id":"small","name":"n","timestamp":1}"#).status == .accepted)
            let large = #"{"id":"large","name":"n","timestamp":1,"body":""# + String(repeating: "x", count: 400_000) + #""}"#
            let post =
                "POST /v1/streams/events/events HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: \(large.utf8.count)\r\n\r\n"
            // Until the server has read the dawdler's headers, the large body still fits.
            var refused = ""
            let refusedBy = ContinuousClock.now + .seconds(20)
            repeat {
                refused = try await RawConnection.open(port: port).exchange(writing: [post, large], limit: .seconds(20)).received
            } while !refused.hasPrefix("HTTP/1.1 503") && ContinuousClock.now < refusedBy
            #expect(refused.hasPrefix("HTTP/1.1 503"), "\(refused.prefix(300))")
            #expect(refused.lowercased().contains("retry-after:"))
            holding.cancel()
            // How the dawdler's connection ends (closed by it, or reset) does not matter here.
            _ = try? await holding.value
            // The dawdler gave up: its bytes are free again.
            var status = HTTPResponse.Status.serviceUnavailable
            let deadline = ContinuousClock.now + .seconds(10)
            while status == .serviceUnavailable, ContinuousClock.now < deadline {
                status = (try? await client.ingest("events", large).status) ?? .serviceUnavailable
                if status == .serviceUnavailable { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(status == .accepted)
        }
    }
}

/// The read API's pages are bounded in bytes as well as events, and share a byte budget.
@Suite struct ReadPageBoundTests {
    static func largeEvent(_ id: String) -> String {
        #"{"id":"\#(id)","name":"n","timestamp":1,"body":""# + String(repeating: "x", count: 1_000_000) + #""}"#
    }

    @Test func aPageEndsAtItsBytesAndSaysWhereToGoOn() async throws {
        try await withServer { client, _ in
            for batch in 0..<2 {
                let body = (0..<3).map { Self.largeEvent("large-\(batch)-\($0)") }.joined(separator: "\n")
                #expect(try await client.ingest("events", body, contentType: "application/x-ndjson").status == .accepted)
            }
            // Six events of 1 MB: a page of at most 4 MiB of bodies holds four.
            let first = try await client.execute(uri: "/v1/streams/events/events?from=0&limit=100", method: .get)
            #expect(first.status == .ok)
            #expect((first.json["events"] as? [Any])?.count == 4)
            #expect(first.json["next_offset"] as? Int == 4)
            let second = try await client.execute(uri: "/v1/streams/events/events?from=4&limit=100", method: .get)
            #expect((second.json["events"] as? [Any])?.count == 2)
            #expect(second.json["next_offset"] as? Int == 6)
        }
    }

    @Test func aReadThatDoesNotFitTheBudgetGets503() async throws {
        // A budget smaller than one page (the flag refuses such a value; set here to see the refusal).
        let event = #"{"id":"a","name":"n","timestamp":1}"#
        try await withServer({ $0.connections.maxInflightReadBytes = 1 << 20 }) { client, _ in
            #expect(try await client.ingest("events", event).status == .accepted)
            let refused = try await client.execute(uri: "/v1/streams/events/events?from=0&limit=10", method: .get)
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.headers[.retryAfter] == "1")
        }
        try await withServer(storage: .sqlite) { client, _ in
            let accepted = try await client.ingest("events", event).status
            #expect(accepted == .accepted)
            // Sequential reads give their reservation back: a hundred in a row all fit.
            var statuses: Set<HTTPResponse.Status> = []
            for _ in 0..<100 {
                statuses.insert(try await client.execute(uri: "/v1/streams/events/events?from=0&limit=10000", method: .get).status)
            }
            #expect(statuses == [.ok])
        }
    }

    @Test func theReadBudgetCannotBeSmallerThanAPage() {
        var configuration = ServerConfiguration()
        #expect {
            try EdgeSettings(maxInflightReadBytes: 1 << 20).apply(to: &configuration, naming: \.flag)
        } throws: { "\($0)".hasPrefix("--max-inflight-read-bytes") }
    }
}

/// Peers answering absurdly cost only their own requests.
@Suite struct HostilePeerTests {
    /// A peer that answers each path's first request with `first`, and later ones 200.
    func withPeer(
        first: @escaping @Sendable () -> Response, _ body: @escaping @Sendable (Int, RequestCount) async throws -> Void
    ) async throws {
        let requests = RequestCount()
        let router = Router()
        let answer: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            _ = try await request.body.collect(upTo: 1 << 20)
            let count = requests.value.withLock { count in
                count += 1
                return count
            }
            return count == 1 ? first() : Response(status: .ok)
        }
        router.post("/deliver", use: answer)
        router.post("/callbacks", use: answer)
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            try await body(client.port!, requests)
        }
    }

    @Test func aRetryAfterOfTenMillionYearsIsClampedAndTheEventDelivered() async throws {
        try await withPeer(first: { Response(status: .tooManyRequests, headers: [.retryAfter: "1e16"]) }) { peerPort, requests in
            try await withServer({ configuration in
                configuration.delivery = DeliveryConfiguration(
                    targetURL: "http://127.0.0.1:\(peerPort)/deliver", timeout: .seconds(5),
                    retry: RetrySchedule(initial: 0.02, maximum: 0.2, multiplier: 2, maxRetryAfter: 1))
            }) { client, _ in
                #expect(try await client.ingest("events", #"{"id":"e1","name":"n","timestamp":1}"#).status == .accepted)
                try await client.pollMetric("eventflow_delivered_events_total", timeout: .seconds(20)) { $0 == 1 }
                try await client.pollMetric(#"eventflow_peer_retry_after_clamped_total{peer="target"}"#) { $0 == 1 }
                #expect(requests.value.withLock { $0 } == 2)
            }
        }
    }

    @Test func aCallbackReceiverAskingForTenMillionYearsDoesNotStopTheServer() async throws {
        try await withPeer(first: { Response(status: .tooManyRequests, headers: [.retryAfter: "1e16"]) }) { peerPort, requests in
            try await withServer({ configuration in
                configuration.accounts = AccountsConfiguration(
                    callbackURL: "http://127.0.0.1:\(peerPort)/callbacks", retry: RetrySchedule(initial: 0.02, maximum: 0.2, multiplier: 2, maxRetryAfter: 1))
            }) { client, _ in
                let account = #"{"id":"acc1","accountType":"mint","tokens":1,"callbackTimeMs":0,"version":1}"#
                #expect(try await client.ingest("accounts", account).status == .accepted)
                try await client.pollMetric("eventflow_account_callbacks_fired_total", timeout: .seconds(20)) { $0 == 1 }
                try await client.pollMetric(#"eventflow_peer_retry_after_clamped_total{peer="callbacks"}"#) { $0 == 1 }
                #expect(requests.value.withLock { $0 } == 2)
            }
        }
    }

    /// While the callback receiver fails, the dispatcher tracks at most its bound of
    /// retrying callbacks; the others stay pending in the table and all fire once it is back.
    @Test func aFailingCallbackReceiverCostsABoundedRetryTable() async throws {
        let receiverUp = Atomic(false)
        let attempted = Mutex(Set<String>())
        let router = Router()
        router.post("/callbacks") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            guard receiverUp.load(ordering: .relaxed) else {
                if let key = request.headers[HTTPField.Name("Idempotency-Key")!] { attempted.withLock { _ = $0.insert(key) } }
                return Response(status: .serviceUnavailable)
            }
            return Response(status: .ok)
        }
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { peer in
            try await withServer({ configuration in
                configuration.accounts = AccountsConfiguration(
                    callbackURL: "http://127.0.0.1:\(peer.port!)/callbacks", retry: RetrySchedule(initial: 0.05, maximum: 0.2, multiplier: 2))
                configuration.accounts?.maxRetryingCallbacks = 5
            }) { client, _ in
                let accounts = (0..<40).map { #"{"id":"acct-\#($0)","accountType":"mint","tokens":1,"callbackTimeMs":0,"version":1}"# }
                let status = try await client.ingest("accounts", accounts.joined(separator: "\n"), contentType: "application/x-ndjson").status
                #expect(status == .accepted)
                try await client.pollMetric("eventflow_account_callback_retries_waiting") { ($0 ?? 0) >= 5 }
                // Two seconds of retries against the failing receiver: never more than five callbacks tried.
                try await Task.sleep(for: .seconds(2))
                #expect(attempted.withLock { $0.count } == 5)
                receiverUp.store(true, ordering: .relaxed)
                try await client.pollMetric("eventflow_account_callbacks_fired_total", timeout: .seconds(30)) { $0 == 40 }
            }
        }
    }

    @Test func aStoredEventThatCannotBeSentIsDeadLetteredAndDeliveryMovesOn() async throws {
        // An id no header can carry, stored before ingest refused such ids.
        let directory = temporaryDirectory()
        let log = try await SQLiteEventLog.open(
            configuration: LogConfiguration(dataDirectory: directory, streams: StreamSchema.defaults.map(\.name)), logger: quietLogger)
        let group = ServiceGroup(services: [log], gracefulShutdownSignals: [], logger: quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for id in ["p\u{1}q", "after"] {
                _ = try await log.append(
                    stream: "events",
                    records: [LogRecord(id: id, key: id, eventTimeMs: 1000, body: ByteBuffer(string: #"{"id":"x","name":"n","timestamp":1}"#))])
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await withTarget { target in
            try await withServer({
                $0.dataDirectory = directory
                $0.delivery = delivery(to: target) { $0.orderingWindow = 0.5 }
            }) { client, _ in
                try await target.waitForUnique(1, timeout: .seconds(20))
                let letters = try await client.execute(uri: "/v1/dead-letters", method: .get).json["dead_letters"] as? [[String: Any]] ?? []
                #expect(letters.count == 1)
                #expect(letters.first?["status"] as? Int == 0)
                #expect(try await target.ledger()["after"]?.delivered != nil)
            }
        }
    }
}
