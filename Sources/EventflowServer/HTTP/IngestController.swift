import EventflowCore
import Foundation
import EventflowLog
import Hummingbird
import NIOCore

/// The collector's ingest routes: validate a request's events, append them to the log,
/// and answer 202 only once they are committed.
struct IngestController<Context: RequestContext>: Sendable {
    let log: any EventAppender
    let parsers: [String: IngestParser]
    let metrics: ServerMetrics
    let apiKey: APIKey?
    let maxBodyBytes: Int
    /// How far ahead of this server's clock an event time may lie.
    let maxFutureSkew: Duration
    /// Bytes of bodies being read at once, over every request.
    let inflight: ByteBudget
    /// False in a `--role processor` process: ingest requests get 421 and are sent elsewhere.
    let acceptsEvents: Bool

    func addRoutes(to router: Router<Context>) {
        router.post("/v1/streams/:stream/events") { request, context in
            await ingest(stream: context.parameters.get("stream") ?? "", request: request)
        }
        router.methodNotAllowed("/v1/streams/:stream/events", allowed: [.post, .get])
        router.post("/events") { request, _ in
            await ingest(stream: "events", request: request)
        }
        router.methodNotAllowed("/events", allowed: [.post])
        router.put("/events/:domain/:outcome") { request, context in
            await ingestDomainOutcome(
                domain: context.parameters.get("domain") ?? "", outcome: context.parameters.get("outcome") ?? "", request: request)
        }
        router.methodNotAllowed("/events/:domain/:outcome", allowed: [.put])
    }

    /// Handles one ingest request and records its metrics.
    func ingest(stream: String, request: Request) async -> Response {
        let started = ContinuousClock.now
        let (response, events) = await respond(stream: stream, request: request)
        metrics.recordRequest(
            stream: parsers[stream] == nil ? "unknown" : stream, status: response.status.code, events: events,
            duration: ContinuousClock.now - started)
        return response
    }

    private func respond(stream: String, request: Request) async -> (Response, Int) {
        if let apiKey, !apiKey.authorizes(request.headers) { return (APIKey.unauthorized, 0) }
        guard acceptsEvents else {
            return (JSONResponse.error(.misdirectedRequest, "this process runs --role processor and takes no events; send them to a collector (--role collector or all)"), 0)
        }
        guard let parser = parsers[stream] else {
            let known = parsers.keys.sorted().joined(separator: ", ")
            return (JSONResponse.error(.notFound, "unknown stream '\(stream)'; streams are: \(known)"), 0)
        }
        guard let format = IngestContentType.format(of: request.headers[.contentType]) else {
            return (IngestContentType.unsupported(request.headers[.contentType] ?? ""), 0)
        }
        let length = request.headers[.contentLength].flatMap(Int.init)
        if let length, length > maxBodyBytes {
            return (tooLarge, 0)
        }
        let reservation = length ?? maxBodyBytes
        guard inflight.reserve(reservation) else {
            return (
                JSONResponse.unavailable(
                    "the collector is reading \(inflight.limit) bytes of request bodies already; nothing of this request was stored, retry later",
                    retryAfterSeconds: 1), 0
            )
        }
        defer { inflight.release(reservation) }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: min(maxBodyBytes, reservation))
        } catch is NIOTooManyBytesError {
            return (tooLarge, 0)
        } catch {
            return (JSONResponse.error(.badRequest, "could not read the request body: \(error)"), 0)
        }
        return await append(body: body, format: format, stream: stream, parser: parser)
    }

    private func append(body: ByteBuffer, format: IngestFormat, stream: String, parser: IngestParser) async -> (Response, Int) {
        let latestEventTimeMs = Int64(Date().timeIntervalSince1970 * 1000) + maxFutureSkew.milliseconds
        let parsed = body.withUnsafeReadableBytes { bytes in
            Result { () throws(IngestError) in try parser.parse(bytes, format: format, latestEventTimeMs: latestEventTimeMs) }
        }
        let events: [ValidatedEvent]
        switch parsed {
        case .success(let valid): events = valid
        case .failure(let error): return (JSONResponse.error(.badRequest, error.message, index: error.index, field: error.field), 0)
        }
        let records = events.compactMap { event in
            body.getSlice(at: body.readerIndex + event.range.lowerBound, length: event.range.count).map {
                LogRecord(id: event.id, key: event.key, eventTimeMs: event.eventTimeMs, body: $0)
            }
        }
        // The parser's ranges lie within the body it was given; were one not to, nothing is stored.
        guard records.count == events.count else {
            return (JSONResponse.error(.internalServerError, "an event's bytes lie outside the request body; nothing was stored"), 0)
        }
        do {
            let result = try await log.append(stream: stream, records: records)
            let text = #"{"accepted":\#(result.count),"first_offset":\#(result.firstOffset),"last_offset":\#(result.lastOffset)}"#
            return (JSONResponse.make(.accepted, bytes: text.utf8), records.count)
        } catch {
            return (Self.response(for: error), 0)
        }
    }

    /// `PUT /events/{domain}/delivered|bounced`: the seed API of the domains workload.
    private func ingestDomainOutcome(domain: String, outcome: String, request: Request) async -> Response {
        guard outcome == "delivered" || outcome == "bounced" else {
            return JSONResponse.error(.notFound, "unknown outcome '\(outcome)': use /events/{domain}/delivered or /events/{domain}/bounced")
        }
        let started = ContinuousClock.now
        let (response, events): (Response, Int) = await {
            if let apiKey, !apiKey.authorizes(request.headers) { return (APIKey.unauthorized, 0) }
            guard acceptsEvents else {
                return (JSONResponse.error(.misdirectedRequest, "this process runs --role processor and takes no events; send them to a collector (--role collector or all)"), 0)
            }
            guard DomainName.isValid(domain), let parser = parsers["domains"] else {
                return (
                    JSONResponse.error(
                        .badRequest, "'\(domain)' is not a valid domain name (at most 253 bytes; labels of 1-63 letters, digits and inner hyphens)",
                        index: 0, field: "domain"), 0
                )
            }
            let event = #"{"domain":"\#(domain)","type":"\#(outcome)"}"#
            return await append(body: ByteBuffer(string: event), format: .json, stream: "domains", parser: parser)
        }()
        metrics.recordRequest(stream: "domains", status: response.status.code, events: events, duration: ContinuousClock.now - started)
        return response
    }

    private var tooLarge: Response {
        JSONResponse.error(.contentTooLarge, "request body is larger than the limit of \(maxBodyBytes) bytes; split it into smaller batches")
    }

    static func response(for error: EventLogError) -> Response {
        switch error {
        case .overloaded(let seconds):
            JSONResponse.unavailable("the log is saturated; nothing of this request was stored, retry later", retryAfterSeconds: seconds)
        case .storageFailed(let reason):
            JSONResponse.unavailable("storage failed (\(reason)); nothing of this request was stored", retryAfterSeconds: 5)
        case .shuttingDown:
            JSONResponse.unavailable("the server is shutting down; nothing of this request was stored", retryAfterSeconds: 1)
        case .unknownStream(let stream):
            JSONResponse.error(.notFound, "unknown stream '\(stream)'")
        case .leaseLost, .deleted:
            JSONResponse.unavailable("\(error); nothing of this request was stored", retryAfterSeconds: 1)
        }
    }
}

/// Maps a request's Content-Type to the body format it announces.
enum IngestContentType {
    static let json: Set<String> = ["application/json"]
    static let ndjson: Set<String> = ["application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"]

    /// The announced format; JSON when no Content-Type is given, nil when it is unsupported.
    static func format(of contentType: String?) -> IngestFormat? {
        guard let contentType else { return .json }
        // Byte by byte, without Foundation: this runs for every request.
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let type = contentType.utf8.prefix { $0 != UInt8(ascii: ";") }.drop(while: isSpace)
        let mediaType = String(decoding: type.reversed().drop(while: isSpace).reversed().map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
        if json.contains(mediaType) || mediaType.hasSuffix("+json") { return .json }
        if ndjson.contains(mediaType) { return .ndjson }
        return nil
    }

    static func unsupported(_ contentType: String) -> Response {
        JSONResponse.error(
            .unsupportedMediaType,
            "unsupported Content-Type '\(contentType)': send application/json (an object or an array) or application/x-ndjson (one object per line)")
    }
}
