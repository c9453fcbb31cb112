import AsyncHTTPClient
import EventflowLog
public import EventflowServer
import Foundation
public import HTTPTypes
import Hummingbird
public import HummingbirdTesting
import Logging
import NIOCore
public import NIOHTTP1
import NIOPosix
import Testing

/// The log a test server runs on.
public enum TestStorage: String, CaseIterable, Sendable {
    case sqlite
    case postgres

    /// A fresh, empty log of this kind.
    public func make() async throws -> LogStorage {
        switch self {
        case .sqlite: return .sqlite
        case .postgres: return .postgres(try await TestPostgres.freshDatabase())
        }
    }
}

/// Runs a real Eventflow server on a free loopback port with a fresh data directory (or
/// a fresh PostgreSQL database).
public func withServer(
    storage: TestStorage = .sqlite,
    _ configure: (inout ServerConfiguration) -> Void = { _ in },
    _ test: @escaping @Sendable (any TestClientProtocol, Int) async throws -> Void
) async throws {
    try await withServer(log: try await storage.make(), configure, test)
}

/// Runs a real Eventflow server on a free loopback port on the given log: several servers
/// on one PostgreSQL log stand for the processes of a scale-out.
public func withServer(
    log storage: LogStorage,
    _ configure: (inout ServerConfiguration) -> Void = { _ in },
    _ test: @escaping @Sendable (any TestClientProtocol, Int) async throws -> Void
) async throws {
    var configuration = ServerConfiguration(port: 0, dataDirectory: temporaryDirectory(), delivery: nil)
    configuration.storage = storage
    configure(&configuration)
    let app = try await EventflowApplication.build(configuration: configuration, logger: quietLogger)
    try await app.test(.live) { client in
        try await test(client, client.port!)
    }
}

extension TestClientProtocol {
    /// POSTs `body` to a stream's ingest route.
    @discardableResult
    public func ingest(
        _ stream: String, _ body: String, contentType: String? = "application/json", headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if let contentType { headers[.contentType] = contentType }
        return try await execute(uri: "/v1/streams/\(stream)/events", method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    /// The head offset of every stream, from `GET /v1/streams`.
    public func headOffsets(headers: HTTPFields = [:]) async throws -> [String: Int] {
        let response = try await execute(uri: "/v1/streams", method: .get, headers: headers)
        let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
        let streams = object?["streams"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: streams.map { ($0["name"] as? String ?? "", $0["head_offset"] as? Int ?? -1) })
    }
}

extension TestResponse {
    public var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
    }
}

/// Sends many requests at once over several connections.
public func concurrentPosts(port: Int, path: String, bodies: [String], contentType: String = "application/x-ndjson") async throws -> [(status: UInt, headers: HTTPHeaders, body: String)] {
    try await withThrowingTaskGroup(of: (Int, UInt, HTTPHeaders, String).self) { group in
        for (index, body) in bodies.enumerated() {
            group.addTask {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
                request.method = .POST
                request.headers.add(name: "Content-Type", value: contentType)
                request.body = .bytes(ByteBuffer(string: body))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
                return (index, response.status.code, response.headers, text)
            }
        }
        var results = [(status: UInt, headers: HTTPHeaders, body: String)?](repeating: nil, count: bodies.count)
        for try await (index, status, headers, body) in group { results[index] = (status, headers, body) }
        return results.map { $0! }
    }
}

/// Parses one sample value out of Prometheus text exposition.
public func metricValue(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}

/// Runs `run` until it ends by itself and returns what it threw ("it stopped without an
/// error" when nothing), or nil when it still runs after `limit`; `stop` is then called and
/// `run` cancelled, but not waited for, so a `run` that ignores both cannot hang the test.
public func outcome(
    within limit: Duration = .seconds(20), stop: @escaping @Sendable () async -> Void = {}, of run: @escaping @Sendable () async throws -> Void
) async -> String? {
    let (ends, end) = AsyncStream.makeStream(of: String?.self)
    let running = Task {
        do {
            try await run()
            end.yield("it stopped without an error")
        } catch {
            end.yield("\(error)")
        }
    }
    let timer = Task {
        try? await Task.sleep(for: limit)
        end.yield(nil)
    }
    var iterator = ends.makeAsyncIterator()
    let first = await iterator.next() ?? nil
    timer.cancel()
    if first == nil {
        await stop()
        running.cancel()
    }
    return first
}

extension TestClientProtocol {
    /// Reads `/metrics` until `series` has a value `done` accepts, or fails after `timeout`; returns the last value.
    @discardableResult
    public func pollMetric(_ series: String, timeout: Duration = .seconds(20), until done: (Double?) -> Bool) async throws -> Double? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let value = metricValue(String(buffer: try await execute(uri: "/metrics", method: .get).body), series)
            if done(value) { return value }
            guard ContinuousClock.now < deadline else {
                Issue.record("\(series) was still \(value.map { "\($0)" } ?? "absent") after \(timeout)")
                return value
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// A loopback port free at the time of the call (bound to port 0, read back, released), for
/// a second listener whose port must be known before it starts.
public func freeLoopbackPort() throws -> Int {
    let socket = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
    defer { try? socket.close().wait() }
    guard let port = socket.localAddress?.port else { throw CancellationError() }
    return port
}
