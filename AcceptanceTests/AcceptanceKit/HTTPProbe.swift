public import AsyncHTTPClient
import Foundation
import NIOFoundationCompat
public import NIOCore
public import NIOHTTP1

/// A plain HTTP response, read whole.
public struct ProbeResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: ByteBuffer

    public var text: String { String(buffer: body) }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// The body as a JSON object, nil when it is not one.
    public var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any]
    }
}

/// Small requests against the system under test, with a timeout each.
public struct HTTPProbe: Sendable {
    public let baseURL: String
    public let client: HTTPClient
    public let timeout: TimeAmount
    /// Sent as `X-Api-Key` with every request, when set (e.g. the reference target's admin key).
    public let apiKey: String?

    public init(baseURL: String, client: HTTPClient = .shared, timeout: TimeAmount = .seconds(10), apiKey: String? = nil) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.client = client
        self.timeout = timeout
        self.apiKey = apiKey
    }

    public func get(_ path: String) async throws -> ProbeResponse {
        try await send(path, method: .GET)
    }

    public func post(_ path: String, body: [UInt8], contentType: String = "application/json") async throws -> ProbeResponse {
        try await send(path, method: .POST, body: body, contentType: contentType)
    }

    /// Streams an NDJSON answer line by line, without holding it whole (ledgers of millions of ids).
    public func forEachLine(_ path: String, _ body: (Substring) throws -> Void) async throws {
        var request = HTTPClientRequest(url: baseURL + path)
        if let apiKey { request.headers.add(name: "X-Api-Key", value: apiKey) }
        let response = try await client.execute(request, timeout: timeout)
        guard response.status.code == 200 else { throw SpawnError("GET \(path) answered \(response.status.code)") }
        var pending = ""
        for try await chunk in response.body {
            pending += String(buffer: chunk)
            guard let lastNewline = pending.lastIndex(of: "\n") else { continue }
            for line in pending[..<lastNewline].split(separator: "\n") { try body(line) }
            pending = String(pending[pending.index(after: lastNewline)...])
        }
        for line in pending.split(separator: "\n") { try body(line) }
    }

    public func send(_ path: String, method: HTTPMethod, body: [UInt8]? = nil, contentType: String? = nil) async throws -> ProbeResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let apiKey { request.headers.add(name: "X-Api-Key", value: apiKey) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: timeout)
        let data = try await response.body.collect(upTo: 64 << 20)
        return ProbeResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: data)
    }
}
