import Foundation
import NIOHTTP1

/// One bad request and the status it must get.
struct MalformedCase: Sendable {
    var name: String
    var stream: String
    var body: [UInt8]
    var contentType: String? = "application/json"
    var method: HTTPMethod = .POST
    var expected: Int
}

/// A corpus of malformed input, each answered with its 4xx while the server keeps
/// serving and stores nothing.
struct MalformedInputScenario: BehaviourScenario {
    let name = "malformed-input"
    let summary = "41 kinds of bad request each get their 4xx; nothing is stored; the server keeps serving"

    static var corpus: [MalformedCase] {
        func json(_ text: String) -> [UInt8] { Array(text.utf8) }
        let event = #"{"id":"m1","name":"n","timestamp":1}"#
        let account = #""id":"a","accountType":"t","tokens":1,"callbackTimeMs":1"#
        return [
            MalformedCase(name: "truncated object", stream: "events", body: json(#"{"id":"m1","name":"#), expected: 400),
            MalformedCase(name: "truncated array", stream: "events", body: json("[\(event),"), expected: 400),
            MalformedCase(name: "trailing comma", stream: "events", body: json(#"{"id":"m1","name":"n","timestamp":1,}"#), expected: 400),
            MalformedCase(name: "data after the value", stream: "events", body: json(event + " x"), expected: 400),
            MalformedCase(name: "single quotes", stream: "events", body: json("{'id':'m1'}"), expected: 400),
            MalformedCase(name: "unquoted key", stream: "events", body: json(#"{id:"m1"}"#), expected: 400),
            MalformedCase(name: "NaN literal", stream: "frames", body: json(#"{"uid":"u","ts":NaN}"#), expected: 400),
            MalformedCase(name: "leading zero", stream: "frames", body: json(#"{"uid":"u","ts":0123}"#), expected: 400),
            MalformedCase(name: "name is a number", stream: "events", body: json(#"{"id":"m1","name":5,"timestamp":1}"#), expected: 400),
            MalformedCase(name: "timestamp is a boolean", stream: "events", body: json(#"{"id":"m1","name":"n","timestamp":true}"#), expected: 400),
            MalformedCase(name: "uid is an object", stream: "frames", body: json(#"{"uid":{},"ts":1}"#), expected: 400),
            MalformedCase(name: "tokens is a string", stream: "accounts", body: json(#"{"id":"a","accountType":"t","tokens":"1","callbackTimeMs":1,"version":1}"#), expected: 400),
            MalformedCase(name: "missing id", stream: "events", body: json(#"{"name":"n","timestamp":1}"#), expected: 400),
            MalformedCase(name: "missing version", stream: "accounts", body: json("{\(account)}"), expected: 400),
            MalformedCase(name: "missing severity", stream: "logs", body: json(#"{"service_name":"s","payload":"p","timestamp":1}"#), expected: 400),
            MalformedCase(name: "huge number", stream: "accounts", body: json("{\(account.replacingOccurrences(of: "\"tokens\":1", with: "\"tokens\":1e400")),\"version\":1}"), expected: 400),
            MalformedCase(name: "integer overflow", stream: "accounts", body: json("{\(account),\"version\":18446744073709551616}"), expected: 400),
            MalformedCase(name: "negative callback time", stream: "accounts", body: json(#"{"id":"a","accountType":"t","tokens":1,"callbackTimeMs":-5,"version":1}"#), expected: 400),
            MalformedCase(name: "deep nesting", stream: "events", body: json(#"{"id":"m1","name":"n","timestamp":1,"body":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"), expected: 400),
            MalformedCase(name: "invalid UTF-8", stream: "events", body: json(#"{"id":"m"#) + [0xFF] + json(#"","name":"n","timestamp":1}"#), expected: 400),
            MalformedCase(name: "overlong UTF-8", stream: "events", body: json(#"{"id":"m"#) + [0xC0, 0xAF] + json(#"","name":"n","timestamp":1}"#), expected: 400),
            MalformedCase(name: "lone surrogate escape", stream: "events", body: json(#"{"id":"\ud800","name":"n","timestamp":1}"#), expected: 400),
            MalformedCase(name: "raw NUL byte", stream: "events", body: json(#"{"id":"m"#) + [0x00] + json(#"","name":"n","timestamp":1}"#), expected: 400),
            MalformedCase(name: "raw newline in a string", stream: "events", body: json("{\"id\":\"m\n1\",\"name\":\"n\",\"timestamp\":1}"), expected: 400),
            MalformedCase(name: "oversized body", stream: "events", body: json(#"{"id":"m1","name":"n","timestamp":1,"body":""# + String(repeating: "x", count: 5 << 20) + "\"}"), expected: 413),
            MalformedCase(name: "text/plain", stream: "events", body: json(event), contentType: "text/plain", expected: 415),
            MalformedCase(name: "form data", stream: "events", body: json("id=m1"), contentType: "application/x-www-form-urlencoded", expected: 415),
            MalformedCase(name: "empty body", stream: "events", body: [], expected: 400),
            MalformedCase(name: "empty batch", stream: "events", body: json("[]"), expected: 400),
            MalformedCase(name: "array of numbers", stream: "events", body: json("[1,2]"), expected: 400),
            MalformedCase(name: "top-level string", stream: "events", body: json(#""hello""#), expected: 400),
            MalformedCase(name: "unknown stream", stream: "nosuchstream", body: json(event), expected: 404),
            MalformedCase(name: "invalid severity", stream: "logs", body: json(#"{"service_name":"s","payload":"p","severity":"loud","timestamp":1}"#), expected: 400),
            MalformedCase(name: "invalid domain", stream: "domains", body: json(#"{"domain":"not a domain","type":"delivered"}"#), expected: 400),
            MalformedCase(name: "payload over 2048 bytes", stream: "logs", body: json(#"{"service_name":"s","payload":""# + String(repeating: "p", count: 3_000) + #"","severity":"info","timestamp":1}"#), expected: 400),
            MalformedCase(name: "id over 128 bytes", stream: "events", body: json(#"{"id":""# + String(repeating: "i", count: 200) + #"","name":"n","timestamp":1}"#), expected: 400),
            MalformedCase(name: "duplicate top-level key", stream: "frames", body: json(#"{"uid":"a","uid":"b","ts":1}"#), expected: 400),
            MalformedCase(name: "broken NDJSON line", stream: "events", body: json("\(event)\n{\"id\":\n\(event)\n"), contentType: "application/x-ndjson", expected: 400),
            MalformedCase(name: "empty id", stream: "events", body: json(#"{"id":"","name":"n","timestamp":1}"#), expected: 400),
            MalformedCase(name: "byte order mark", stream: "events", body: [0xEF, 0xBB, 0xBF] + json(event), expected: 400),
            MalformedCase(name: "wrong method", stream: "events", body: [], contentType: nil, method: .DELETE, expected: 405),
        ]
    }

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        try await context.withSystem { system in
            let probe = HTTPProbe(baseURL: system.systemURL)
            let before = try await headOffsets(probe)
            let started = ContinuousClock.now
            var evidence: [String] = []
            var failures = 0
            for bad in Self.corpus {
                let path = "/v1/streams/\(bad.stream)/events"
                let status =
                    bad.body.count > Self.rawBodyBytes
                    ? try await Self.statusOverRawConnection(system.systemURL, bad, path: path)
                    : try await probe.send(path, method: bad.method, body: bad.body, contentType: bad.contentType).status
                let healthy = try await probe.get("/healthz").status == 200
                if status != bad.expected || !healthy {
                    failures += 1
                    evidence.append("\(bad.name): got \(status), expected \(bad.expected)\(healthy ? "" : "; /healthz failed after it")")
                }
            }
            let corpusTook = ContinuousClock.now - started
            let after = try await headOffsets(probe)
            let stored = after.map { $0.value - (before[$0.key] ?? 0) }.reduce(0, +)
            // On a system given by URL other traffic may move the heads too: as long again with
            // no request of ours tells whether it does, and then the count cannot be ours alone.
            var othersStored = 0
            if context.binary == nil, stored > 0 {
                try await Task.sleep(for: corpusTook)
                let control = try await headOffsets(probe)
                othersStored = control.map { $0.value - (after[$0.key] ?? 0) }.reduce(0, +)
            }
            let valid = try await probe.post("/v1/streams/events/events", body: Array(#"{"id":"after-corpus-\#(context.run.tag)","name":"n","timestamp":1}"#.utf8))
            let storedText = othersStored > 0 ? "heads moved by \(stored), but by \(othersStored) with no request of ours: other traffic, so not counted" : "\(stored)"
            evidence.insert("\(Self.corpus.count - failures) of \(Self.corpus.count) bad requests got the expected 4xx; events stored by them: \(storedText); a valid request afterwards → \(valid.status)", at: 0)
            return ScenarioResult(passed: failures == 0 && (stored == 0 || othersStored > 0) && valid.status == 202, evidence: evidence)
        }
    }

    /// Bodies larger than this go over a raw connection.
    static let rawBodyBytes = 1 << 20

    /// Sends `bad` over a raw connection and reads the status of the answer. A server may
    /// answer a body over its limit, and close, before it read the body (it should); an HTTP
    /// client still writing the body reports the closed connection rather than the answer.
    static func statusOverRawConnection(_ systemURL: String, _ bad: MalformedCase, path: String) async throws -> Int {
        guard let (host, port) = HostileInputScenario.hostAndPort(systemURL) else { throw SpawnError("cannot read \(systemURL)") }
        let head = "\(bad.method.rawValue) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Type: \(bad.contentType ?? "")\r\nContent-Length: \(bad.body.count)\r\n\r\n"
        // The oversized corpus bodies are ASCII: each chunk is its bytes exactly.
        let chunks = [head] + stride(from: 0, to: bad.body.count, by: 64 << 10).map { start in
            String(decoding: bad.body[start..<min(start + (64 << 10), bad.body.count)], as: UTF8.self)
        }
        let connection = try await RawConnection.open(host: host, port: port)
        let (received, _) = try await connection.exchange(writing: chunks, limit: .seconds(30))
        guard received.hasPrefix("HTTP/1.1 "), let status = Int(received.dropFirst(9).prefix(3)) else {
            throw SpawnError("\(bad.name): no HTTP answer over a raw connection, only \(received.prefix(100).debugDescription)")
        }
        return status
    }

    private func headOffsets(_ probe: HTTPProbe) async throws -> [String: Int] {
        let streams = try await probe.get("/v1/streams").json?["streams"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: streams.map { ($0["name"] as? String ?? "", $0["head_offset"] as? Int ?? 0) })
    }
}
