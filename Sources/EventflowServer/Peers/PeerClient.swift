import AsyncHTTPClient
import EventflowCore
import NIOCore
import Prometheus

/// An HTTP client for a peer Eventflow sends to but does not control: the target, a
/// callback receiver, a results receiver.
///
/// Whatever the peer does costs only the request it answers: a connection that stalls
/// after the headers is cut by the read timeout, at most ``maxAnswerBytes`` of an answer
/// are read, an absurd `Retry-After` is clamped (and counted), and a request that cannot
/// be built at all (an id that is no valid header value) comes back as
/// ``DeliveryOutcome/unsendable(reason:)`` instead of being retried for ever.
struct PeerClient: Sendable {
    /// What came of one request: the outcome for the retry rules and the start of the answer.
    struct Answer: Sendable {
        var outcome: DeliveryOutcome
        var excerpt: String
    }

    /// The most of an answer that is read; the rest is left unread and the connection closed.
    static let maxAnswerBytes = 4096
    /// The longest excerpt of an answer kept (for dead letters and logs).
    static let excerptBytes = 512

    private let client: HTTPClient
    private let maxRetryAfter: Double
    private let retryAfterClamped: Counter

    /// Starts the client; the caller shuts it down (``shutdown()``) when done.
    /// - Parameters:
    ///   - timeout: the longest wait for an answer, also the longest silence while reading one.
    ///   - retryAfterClamped: counts answers whose `Retry-After` was clamped (``retryAfterClampedCounter(peer:registry:)``).
    init(timeout: Duration, connectionsPerHost: Int = 8, maxRetryAfter: Double, retryAfterClamped: Counter) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost)
        configuration.timeout = .init(connect: .seconds(2), read: .nanoseconds(timeout.nanoseconds))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.maxRetryAfter = maxRetryAfter
        self.retryAfterClamped = retryAfterClamped
    }

    /// `eventflow_peer_retry_after_clamped_total{peer}`: answers of `peer` whose `Retry-After`
    /// asked for more than `--max-retry-after`.
    static func retryAfterClampedCounter(peer: String, registry: PrometheusCollectorRegistry) -> Counter {
        registry.counter(
            "eventflow_peer_retry_after_clamped_total", labels: [("peer", peer)],
            help: "Answers whose Retry-After asked for more than --max-retry-after and was clamped to it")
    }

    /// POSTs a JSON body and classifies what came of it for the retry rules.
    func postJSON(_ url: String, body: ByteBuffer, headers: [(String, String)] = [], timeout: Duration) async -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(body)
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
            var answer: [UInt8] = []
            for try await chunk in response.body {
                answer += chunk.readableBytesView.prefix(Self.maxAnswerBytes - answer.count)
                if answer.count >= Self.maxAnswerBytes { break }
            }
            let retryAfter = RetryAfter.parse(response.headers.first(name: "Retry-After"), limitSeconds: maxRetryAfter)
            if retryAfter?.wasClamped == true { retryAfterClamped.increment() }
            let excerpt = String(decoding: answer.prefix(Self.excerptBytes), as: UTF8.self)
            return Answer(outcome: DeliveryOutcome(status: Int(response.status.code), retryAfter: retryAfter?.seconds), excerpt: excerpt)
        } catch let error as HTTPClientError where [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout].contains(error) {
            return Answer(outcome: .timedOut, excerpt: "")
        } catch let error as HTTPClientError where Self.isUnsendable(error) {
            return Answer(outcome: .unsendable(reason: "the request cannot be built: \(error)"), excerpt: "")
        } catch {
            return Answer(outcome: .connectionFailed, excerpt: "")
        }
    }

    func shutdown() async throws {
        try await client.shutdown()
    }

    /// Errors about one request's own headers, which no retry can change (a bad URL is the
    /// configuration's fault, checked at start, and stays retryable).
    private static func isUnsendable(_ error: HTTPClientError) -> Bool {
        [HTTPClientError.invalidHeaderFieldValues([]), .invalidHeaderFieldNames([])].map(\.shortDescription).contains(error.shortDescription)
    }
}
