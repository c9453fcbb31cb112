import EventflowCore
import EventflowMetrics
import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import Prometheus
import Synchronization

/// `eventflow target`: the reference stand-in for a rate-limited third-party API.
///
/// Idempotent by `Idempotency-Key` (single events) or event `id`; rate-limited; with
/// fault injection; and a ledger of every id it was sent, so a verifier can tell what
/// was delivered, when, and how often.
public enum TargetApplication {
    /// Builds the target; `onServerRunning` gets the port it listens on (useful with port 0).
    public static func build(
        configuration: TargetConfiguration, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let target = ReferenceTarget(configuration: configuration)
        let router = Router(context: BasicRequestContext.self)
        router.post("/deliver") { request, _ in await target.receive(request, route: .deliver) }
        router.post("/callbacks") { request, _ in await target.receive(request, route: .callbacks) }
        router.get("/ledger") { _, _ in LedgerStream.response(target.deliveries.snapshot, withVersion: false) }
        router.get("/callbacks/ledger") { _, _ in LedgerStream.response(target.callbacks.snapshot, withVersion: true) }
        router.get("/ledger/summary") { _, _ in target.summaryResponse(target.deliveries) }
        router.get("/callbacks/ledger/summary") { _, _ in target.summaryResponse(target.callbacks) }
        let admin = router.group("/admin")
        if let key = configuration.adminKey.flatMap(SharedSecret.init) { admin.add(middleware: AdminKeyMiddleware(key: key)) }
        admin.get("/faults") { _, _ in target.faultsResponse() }
        admin.put("/faults") { request, _ in try await target.updateFaults(request) }
        admin.get("/rate-limit") { _, _ in target.rateLimitResponse() }
        admin.put("/rate-limit") { request, _ in try await target.updateRateLimit(request) }
        router.get("/healthz") { _, _ in Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#))) }
        router.get("/metrics") { _, _ in
            target.processMetrics.update()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: target.registry.render())))
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: "eventflow-target"),
            onServerRunning: { await onServerRunning($0.localAddress?.port ?? configuration.port) },
            logger: logger)
    }
}

/// The target's state and request handling.
final class ReferenceTarget: Sendable {
    enum Route: String, Sendable {
        case deliver
        case callbacks
    }

    let deliveries = TargetLedger()
    let callbacks = TargetLedger()
    let registry = PrometheusCollectorRegistry()
    let processMetrics: ProcessMetrics
    private let outage: TargetOutage?
    private let startedAt = ContinuousClock.now
    /// One limiter per route: the limit a profile sets is delivery's, and callbacks have their own.
    private let limiters: Mutex<[Route: Limiter]>
    private let throttled: [Route: Counter]
    private let faults: Mutex<TargetFaults>
    private let random: Mutex<SplitMix64>
    private let deliveryParser = IngestParser(schema: StreamSchema(name: "deliveries", fields: [FieldRule("id", .string(maxBytes: 1024), required: false)]))
    private let callbackParser = IngestParser(
        schema: StreamSchema(
            name: "callbacks",
            fields: [FieldRule("id", .string(maxBytes: 1024), required: false), FieldRule("version", .integer(Int64.min...Int64.max), required: false)],
            keyField: "version"))

    enum Limiter: Sendable {
        case unlimited
        case tokens(TokenBucket)
        case leaky(LeakyBucket, cost: Double)
    }

    init(configuration: TargetConfiguration) {
        outage = configuration.outage
        faults = Mutex(configuration.faults)
        random = Mutex(SplitMix64(seed: configuration.seed))
        func limiter(_ limit: TargetRateLimit) -> Limiter {
            switch limit {
            case .unlimited: .unlimited
            case .tokenBucket(let rate, let burst): .tokens(TokenBucket(rate: rate, burst: burst, now: 0))
            case .leakyBucket(let size, let restore, let cost): .leaky(LeakyBucket(capacity: size, restoreRate: restore, now: 0), cost: cost)
            }
        }
        limiters = Mutex([.deliver: limiter(configuration.rateLimit), .callbacks: limiter(configuration.callbackRateLimit)])
        let registry = registry
        throttled = Dictionary(
            uniqueKeysWithValues: [Route.deliver, .callbacks].map { route in
                (route, registry.counter(
                    "eventflow_target_throttled_total", labels: [("route", route.rawValue)],
                    help: "Requests answered 429 because they were over their route's rate limit"))
            })
        processMetrics = ProcessMetrics(registry: registry)
    }

    private var secondsSinceStart: Double { (ContinuousClock.now - startedAt).seconds }

    private static var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    func receive(_ request: Request, route: Route) async -> Response {
        let response = await respond(request, route: route)
        registry.counter("eventflow_target_requests_total", labels: [("route", route.rawValue), ("code", String(response.status.code))],
            help: "Requests the reference target answered, by route and status"
        ).increment()
        return response
    }

    private func respond(_ request: Request, route: Route) async -> Response {
        let ledger = route == .deliver ? deliveries : callbacks
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: 64 << 20)
        } catch {
            return Self.json(.contentTooLarge, #"{"error":"body over 64 MiB"}"#)
        }
        let parser = route == .deliver ? deliveryParser : callbackParser
        let parsed = body.withUnsafeReadableBytes { bytes in Result { () throws(IngestError) in try parser.parse(bytes, format: .json) } }
        guard case .success(let events) = parsed else {
            if case .failure(let error) = parsed { return Self.json(.badRequest, #"{"error":\#(JSONString.quoted(error.message))}"#) }
            return Self.json(.badRequest, #"{"error":"invalid body"}"#)
        }
        let idempotencyKey = request.headers[values: HTTPField.Name("Idempotency-Key")!].first
        var keys: [String] = []
        for event in events {
            guard let key = events.count == 1 ? (idempotencyKey ?? event.id) : event.id else {
                return Self.json(.badRequest, #"{"error":"every event needs an id (or, for a single event, an Idempotency-Key header)"}"#)
            }
            keys.append(key)
        }
        let versions = events.map { $0.key.flatMap { Int64($0) } }
        let now = Self.nowMs
        let firstAttempts = ledger.recordAttempts(keys, versions: versions, atMs: now)

        let elapsed = secondsSinceStart
        if let outage, outage.contains(elapsed) {
            ledger.countInjectedError()
            let remaining = Int((outage.startSeconds + outage.durationSeconds - elapsed).rounded(.up))
            return Self.json(.serviceUnavailable, #"{"error":"outage"}"#, retryAfter: max(1, remaining))
        }
        if let wait = takeRateLimit(route, now: elapsed) {
            ledger.countThrottled()
            throttled[route]?.increment()
            return Self.json(.tooManyRequests, #"{"error":"rate limit exceeded"}"#, retryAfter: max(1, Int(wait.rounded(.up))))
        }
        let faults = self.faults.withLock { $0 }
        if let prefix = faults.failIdsPrefix, faults.failIdsForSeconds > 0,
            zip(keys, firstAttempts).contains(where: { $0.hasPrefix(prefix) && Double(now - $1) < faults.failIdsForSeconds * 1000 })
        {
            ledger.countInjectedError()
            return Self.json(.serviceUnavailable, #"{"error":"injected: this id fails for a while"}"#)
        }
        if faults.hostileRate > 0, random.withLock({ $0.unit() }) < faults.hostileRate {
            return hostileAnswer(keys: keys, route: route, ledger: ledger, holdMs: faults.timeoutHoldMs)
        }
        let roll = random.withLock { $0.unit() }
        if roll < faults.timeoutRate {
            ledger.countInjectedError()
            try? await Task.sleep(for: .checkedSeconds(faults.timeoutHoldMs / 1000))
            return Self.json(.serviceUnavailable, #"{"error":"injected: held past the timeout"}"#)
        }
        if roll < faults.timeoutRate + faults.errorRate {
            ledger.countInjectedError()
            return Self.json(.internalServerError, #"{"error":"injected: server error"}"#)
        }
        if roll < faults.timeoutRate + faults.errorRate + faults.permanentErrorRate {
            ledger.countInjectedError()
            return Self.json(.unprocessableContent, #"{"error":"injected: permanently rejected"}"#)
        }
        if faults.latencyMs > 0 {
            let spread = random.withLock { $0.unit() }
            try? await Task.sleep(for: .checkedSeconds(faults.latencyMs * (0.5 + spread) / 1000))
        }
        let duplicates = ledger.apply(keys, atMs: Self.nowMs)
        registry.counter("eventflow_target_events_total", labels: [("route", route.rawValue), ("result", "applied")], help: "Events the target applied, or saw again")
            .increment(by: Int64(keys.count - duplicates))
        registry.counter("eventflow_target_events_total", labels: [("route", route.rawValue), ("result", "duplicate")], help: "Events the target applied, or saw again")
            .increment(by: Int64(duplicates))
        return Self.json(.ok, #"{"received":\#(keys.count),"duplicates":\#(duplicates)}"#)
    }

    /// Answers as a hostile peer, in one of the ways of ``HostileAnswer`` chosen at random;
    /// the stalled and the huge answers apply the events first, the others do not.
    private func hostileAnswer(keys: [String], route: Route, ledger: TargetLedger, holdMs: Double) -> Response {
        let kinds = HostileAnswer.allCases
        let kind = kinds[min(kinds.count - 1, Int(random.withLock { $0.unit() } * Double(kinds.count)))]
        registry.counter(
            "eventflow_target_hostile_answers_total", labels: [("route", route.rawValue), ("kind", kind.rawValue)],
            help: "Requests the target answered as a hostile peer (--hostile-rate), by route and kind"
        ).increment()
        switch kind {
        case .absurdRetryAfter:
            ledger.countInjectedError()
            var response = Self.json(.tooManyRequests, #"{"error":"injected: come back in 300 million years"}"#)
            response.headers[.retryAfter] = "1e16"
            return response
        case .stallAfterHeaders:
            _ = ledger.apply(keys, atMs: Self.nowMs)
            let hold = Duration.checkedSeconds(holdMs / 1000)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody { writer in
                    try await Task.sleep(for: hold)
                    try await writer.write(ByteBuffer(string: #"{"received":1}"#))
                    try await writer.finish(nil)
                })
        case .hugeBody:
            _ = ledger.apply(keys, atMs: Self.nowMs)
            let chunk = ByteBuffer(repeating: UInt8(ascii: " "), count: 1 << 20)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(contentLength: 64 << 20) { writer in
                    for _ in 0..<64 { try await writer.write(chunk) }
                    try await writer.finish(nil)
                })
        case .reset:
            ledger.countInjectedError()
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(contentLength: 1_000) { writer in
                    try await writer.write(ByteBuffer(string: #"{"receiv"#))
                    throw CancellationError()
                })
        }
    }

    /// Seconds to wait when the request is over the limit, nil when it may pass.
    private func takeRateLimit(_ route: Route, now: Double) -> Double? {
        limiters.withLock { limiters in
            let decision: RateDecision
            switch limiters[route] ?? .unlimited {
            case .unlimited: return nil
            case .tokens(var bucket):
                decision = bucket.take(now: now)
                limiters[route] = .tokens(bucket)
            case .leaky(var bucket, let cost):
                decision = bucket.take(cost, now: now)
                limiters[route] = .leaky(bucket, cost: cost)
            }
            if case .wait(let seconds) = decision { return seconds }
            return nil
        }
    }

    func summaryResponse(_ ledger: TargetLedger) -> Response {
        let data = (try? JSONEncoder().encode(ledger.summary)) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    func faultsResponse() -> Response {
        let data = (try? JSONEncoder().encode(faults.withLock { $0 })) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    func updateFaults(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 1 << 16)
        do {
            let decoder = JSONDecoder()
            decoder.userInfo[TargetFaults.baseKey] = faults.withLock { $0 }
            let updated = try decoder.decode(FaultsPatch.self, from: Data(buffer: body)).faults
            if let problem = updated.problem { return Self.json(.badRequest, #"{"error":\#(JSONString.quoted("invalid faults: \(problem)"))}"#) }
            faults.withLock { $0 = updated }
            return faultsResponse()
        } catch {
            return Self.json(.badRequest, #"{"error":\#(JSONString.quoted("invalid faults: \(error)"))}"#)
        }
    }

    /// `GET /admin/rate-limit`: delivery's limit, `{"rate":300,"burst":30}` for a token
    /// bucket, `{"rate":null}` when unlimited (a leaky bucket shows its size, restore rate and cost).
    func rateLimitResponse() -> Response {
        let text: String
        switch limiters.withLock({ $0[.deliver] ?? .unlimited }) {
        case .unlimited: text = #"{"rate":null}"#
        case .tokens(let bucket): text = #"{"rate":\#(bucket.rate),"burst":\#(bucket.burst)}"#
        case .leaky(let bucket, let cost): text = #"{"leaky_bucket":{"size":\#(bucket.capacity),"restore_rate":\#(bucket.restoreRate),"cost":\#(cost)}}"#
        }
        return Self.json(.ok, text)
    }

    /// `PUT /admin/rate-limit`: `{"rate":R,"burst":B}` (B defaults to R, at least 1) sets
    /// delivery's token bucket, full; `{"rate":null}` lifts the limit. So that a test can set
    /// a target it did not start to the limit the system under test is configured for.
    func updateRateLimit(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 1 << 16)
        guard let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any], object.keys.contains("rate") else {
            return Self.json(.badRequest, #"{"error":"the body must be a JSON object with 'rate' (requests per second, or null for none)","field":"rate"}"#)
        }
        let limiter: Limiter
        if object["rate"] is NSNull {
            limiter = .unlimited
        } else {
            guard let rate = (object["rate"] as? NSNumber)?.doubleValue, rate > 0, rate <= 1_000_000 else {
                return Self.json(.badRequest, #"{"error":"'rate' must be a number of requests per second in (0, 1000000], or null","field":"rate"}"#)
            }
            let burst = object["burst"].map { ($0 as? NSNumber)?.doubleValue ?? .nan } ?? max(1, rate)
            guard burst >= 1, burst <= 1_000_000 else {
                return Self.json(.badRequest, #"{"error":"'burst' must be a number of requests in [1, 1000000]","field":"burst"}"#)
            }
            limiter = .tokens(TokenBucket(rate: rate, burst: burst, now: secondsSinceStart))
        }
        limiters.withLock { $0[.deliver] = limiter }
        return rateLimitResponse()
    }

    static func json(_ status: HTTPResponse.Status, _ text: String, retryAfter: Int? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// Refuses `/admin/*` requests without the target's admin key.
struct AdminKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: SharedSecret

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard key.authorizes(apiKeyHeader: request.headers[HTTPField.Name("X-Api-Key")!], authorizationHeader: request.headers[.authorization]) else {
            return ReferenceTarget.json(.unauthorized, #"{"error":"missing or wrong admin key: send it as 'X-Api-Key: KEY' or 'Authorization: Bearer KEY'"}"#)
        }
        return try await next(request, context)
    }
}

/// `PUT /admin/faults`: the keys given replace the current faults; the others stay.
struct FaultsPatch: Decodable {
    var faults: TargetFaults

    init(from decoder: any Decoder) throws {
        let base = decoder.userInfo[TargetFaults.baseKey] as? TargetFaults ?? TargetFaults()
        faults = try TargetFaults(from: decoder, base: base)
    }
}

extension TargetFaults {
    static let baseKey = CodingUserInfoKey(rawValue: "base")!
}

/// Streams a ledger as NDJSON, one line per id.
enum LedgerStream {
    static func response(_ entries: [String: LedgerEntry], withVersion: Bool) -> Response {
        let body = ResponseBody { writer in
            var chunk = ByteBuffer()
            chunk.reserveCapacity(64 << 10)
            for (id, entry) in entries {
                chunk.writeString(#"{"id":\#(JSONString.quoted(id)),"first_delivered_at_ms":\#(entry.firstDeliveredAtMs.map(String.init) ?? "null"),"first_attempt_at_ms":\#(entry.firstAttemptAtMs),"attempts":\#(entry.attempts),"deliveries":\#(entry.deliveries)"#)
                if withVersion { chunk.writeString(#","version":\#(entry.version.map(String.init) ?? "null")"#) }
                chunk.writeString("}\n")
                if chunk.readableBytes >= 60 << 10 {
                    try await writer.write(chunk)
                    chunk.clear()
                }
            }
            if chunk.readableBytes > 0 { try await writer.write(chunk) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
    }
}
