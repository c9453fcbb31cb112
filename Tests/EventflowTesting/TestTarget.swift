import AsyncHTTPClient
public import EventflowTarget
import Foundation
import HummingbirdTesting
import NIOCore
import Testing

/// A running reference target and what it saw.
public struct TargetProbe: Sendable {
    public let port: Int

    /// The target listening on `port` of the loopback interface (one the test started itself).
    public init(port: Int) {
        self.port = port
    }
    public var deliverURL: String { "http://127.0.0.1:\(port)/deliver" }

    public func summary() async throws -> [String: Int] {
        let text = try await get("/ledger/summary")
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Int]) ?? [:]
    }

    /// id → (first delivered ms, first attempt ms, attempts)
    public func ledger() async throws -> [String: (delivered: Int?, firstAttempt: Int, attempts: Int)] {
        var entries: [String: (delivered: Int?, firstAttempt: Int, attempts: Int)] = [:]
        for line in try await get("/ledger").split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            entries[object["id"] as? String ?? ""] = (
                object["first_delivered_at_ms"] as? Int, object["first_attempt_at_ms"] as? Int ?? 0, object["attempts"] as? Int ?? 0
            )
        }
        return entries
    }

    public func setFaults(_ json: String) async throws {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/admin/faults")
        request.method = .PUT
        request.body = .bytes(ByteBuffer(string: json))
        _ = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
    }

    public func get(_ path: String) async throws -> String {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(30))
        return String(buffer: try await response.body.collect(upTo: 256 << 20))
    }

    /// Waits until the target has applied `count` distinct ids, or fails after `timeout`.
    public func waitForUnique(_ count: Int, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await summary()["unique", default: 0] < count {
            guard ContinuousClock.now < deadline else {
                Issue.record("target saw \(try await summary()) within \(timeout), expected \(count) unique")
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// Runs a reference target on a free port.
public func withTarget(_ configure: (inout TargetConfiguration) -> Void = { _ in }, _ body: @escaping @Sendable (TargetProbe) async throws -> Void) async throws {
    var configuration = TargetConfiguration(port: 0)
    configure(&configuration)
    try await TargetApplication.build(configuration: configuration, logger: quietLogger).test(.live) { client in
        try await body(TargetProbe(port: client.port!))
    }
}
