import Foundation
import NIOHTTP1

/// Input that lives outside request bodies, or inside them in ways a schema check misses:
/// read-API parameters out of range, ids and text with control characters and NUL,
/// event times far ahead or negative, oversized headers, and a body still being sent after
/// an early answer. Every answer must be a 4xx (a 202 where the input is valid), the server
/// must stay up, and ordinary events sent meanwhile must still be delivered.
struct HostileInputScenario: BehaviourScenario {
    let name = "hostile-input"
    let summary = "read-API parameters, control characters, NUL, far-future times, huge headers and early answers: 4xx, no crash, delivery goes on"

    /// A request and whether a 202 is also an acceptable answer.
    struct Case: Sendable {
        var name: String
        var path: String
        var method: HTTPMethod = .GET
        var body: String?
        var acceptedIsFine = false
    }

    static func cases(now: Int) -> [Case] {
        let events = "/v1/streams/events/events"
        return [
            Case(name: "window=inf", path: "/v1/unique-users?window=inf"),
            Case(name: "window=1e19s", path: "/v1/unique-users?window=1e19s"),
            Case(name: "window of 20 digits", path: "/v1/unique-users?window=99999999999999999999d"),
            Case(name: "window=nan", path: "/v1/unique-users?window=nan"),
            Case(name: "from not a number", path: "/v1/unique-users?window=1m&from=abc"),
            Case(name: "limit=0", path: "/v1/unique-users?window=1m&limit=0"),
            Case(name: "limit of 20 digits", path: events + "?from=0&limit=99999999999999999999"),
            Case(name: "negative offset", path: events + "?from=-1"),
            Case(name: "log limit -1", path: "/v1/logs?service=x&limit=-1"),
            Case(name: "dead-letter limit inf", path: "/v1/dead-letters?limit=inf"),
            Case(name: "id with U+0001", path: events, method: .POST, body: #"{"id":"p\u0001q","name":"n","timestamp":1}"#),
            Case(name: "id with a newline", path: events, method: .POST, body: #"{"id":"p\nq","name":"n","timestamp":1}"#),
            Case(name: "id with DEL", path: events, method: .POST, body: #"{"id":"p\u007fq","name":"n","timestamp":1}"#),
            Case(
                name: "NUL in a payload", path: "/v1/streams/logs/events", method: .POST,
                body: #"{"service_name":"hostile","payload":"a\u0000b","severity":"info","timestamp":1}"#, acceptedIsFine: true),
            Case(name: "NUL in a uid", path: "/v1/streams/frames/events", method: .POST, body: #"{"uid":"u\u0000","ts":\#(now)}"#),
            Case(name: "frame from the year 5138", path: "/v1/streams/frames/events", method: .POST, body: #"{"uid":"far","ts":99999999999}"#),
            Case(name: "event time a day ahead", path: events, method: .POST, body: #"{"id":"ahead","name":"n","timestamp":\#(now + 86_400)}"#),
            Case(name: "negative event time", path: "/v1/streams/frames/events", method: .POST, body: #"{"uid":"neg","ts":-5}"#),
            Case(
                name: "account callback in 10^16 ms", path: "/v1/streams/accounts/events", method: .POST,
                body: #"{"id":"hostile","accountType":"t","tokens":1,"callbackTimeMs":10000000000000000,"version":1}"#),
        ]
    }

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem { system in
            guard system.targetURL != nil else { throw SpawnError("hostile-input needs --target-url to see delivery go on") }
            let probe = HTTPProbe(baseURL: system.systemURL, timeout: .seconds(20))
            let target = TargetClient(system)
            let events = EventsClient(system: probe)
            let ids = context.ids("hostile-input", count: 200)
            let before = await events.send(Array(ids.prefix(100)))
            var evidence: [String] = []
            var failures = 0
            let now = Int(Date().timeIntervalSince1970)
            for hostile in Self.cases(now: now) {
                let response = try? await probe.send(
                    hostile.path, method: hostile.method, body: hostile.body.map { Array($0.utf8) },
                    contentType: hostile.body == nil ? nil : "application/json")
                let healthy = (try? await probe.get("/healthz").status) == 200
                let status = response?.status ?? 0
                let answered = (400..<500).contains(status) || (hostile.acceptedIsFine && status == 202)
                if !answered || !healthy {
                    failures += 1
                    evidence.append("\(hostile.name): got \(status == 0 ? "no answer" : String(status))\(healthy ? "" : ", and /healthz failed after it")")
                }
            }
            let (headerFailures, headerEvidence) = await oversizedHeaders(system.systemURL)
            failures += headerFailures
            evidence += headerEvidence
            let (earlyFailures, earlyEvidence) = await bodyAfterEarlyAnswer(system.systemURL)
            failures += earlyFailures
            evidence += earlyEvidence
            let after = await events.send(Array(ids.suffix(100)))
            let acknowledged = before.acknowledged.withLock { $0 }.union(after.acknowledged.withLock { $0 })
            let missing = try await target.waitForDelivery(of: acknowledged, stall: .seconds(90))
            let cases = Self.cases(now: now).count + 2
            evidence.insert(
                "\(cases - failures) of \(cases) hostile requests answered as they must, the server up after each; "
                    + "ordinary events: \(acknowledged.count) of \(ids.count) acknowledged, \(missing.count) not delivered", at: 0)
            return ScenarioResult(passed: failures == 0 && missing.isEmpty && acknowledged.count == ids.count, evidence: evidence)
        }
    }

    /// A request with 100 KiB of headers gets a 4xx or is closed unanswered, and the server keeps serving.
    private func oversizedHeaders(_ systemURL: String) async -> (Int, [String]) {
        guard let (host, port) = Self.hostAndPort(systemURL), let connection = try? await RawConnection.open(host: host, port: port) else {
            return (1, ["oversized headers: could not connect"])
        }
        let head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: \(String(repeating: "h", count: 100 << 10))\r\n\r\n"
        let (received, closedAfter) = (try? await connection.exchange(writing: [head], limit: .seconds(15))) ?? ("", nil)
        let status = Int(received.split(separator: " ").dropFirst().first ?? "") ?? 0
        let refused = (400..<500).contains(status) || (received.isEmpty && closedAfter != nil)
        let healthy = (try? await HTTPProbe(baseURL: systemURL).get("/healthz").status) == 200
        guard refused, healthy else {
            return (1, ["oversized headers: got \(status == 0 ? "no answer" : String(status))\(closedAfter == nil ? " and the connection stayed open" : "")\(healthy ? "" : ", and /healthz failed")"])
        }
        return (0, [])
    }

    /// A client that writes a body over the limit in full before reading (Python's urllib
    /// does) must get its 413 and a closed connection, not hang.
    private func bodyAfterEarlyAnswer(_ systemURL: String) async -> (Int, [String]) {
        guard let (host, port) = Self.hostAndPort(systemURL), let connection = try? await RawConnection.open(host: host, port: port) else {
            return (1, ["body after an early answer: could not connect"])
        }
        let size = 6_000_000
        let head = "POST /v1/streams/events/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(size)\r\n\r\n"
        let chunk = String(repeating: "x", count: 60_000)
        let (received, closedAfter) =
            (try? await connection.exchange(writing: [head] + Array(repeating: chunk, count: size / chunk.count), limit: .seconds(30))) ?? ("", nil)
        let status = Int(received.split(separator: " ").dropFirst().first ?? "") ?? 0
        guard (400..<500).contains(status), closedAfter != nil else {
            return (1, ["6 MB body sent in full before reading: got \(status == 0 ? "no answer" : String(status))\(closedAfter == nil ? ", connection still open after 30 s" : "")"])
        }
        return (0, [])
    }

    static func hostAndPort(_ url: String) -> (String, Int)? {
        guard let components = URLComponents(string: url), let host = components.host else { return nil }
        return (host, components.port ?? 80)
    }
}
