import EventflowCore
import EventflowLog
import Foundation
import Hummingbird
import NIOCore

/// The size of a page of the read API: at most `maxLimit` events and `bodyBytes` of their
/// bodies (a single larger event comes alone), and the bytes a page reserves while it is
/// built and written.
enum StreamReadPage {
    static let maxLimit = 10_000
    /// What an event adds to its body on a page at most: its offset, time and id (256 bytes
    /// at most, without control characters) and the JSON around them.
    static let perEventBytes = 512

    /// Bytes of event bodies on one page: 4 MiB, or the body limit when that is larger, so
    /// that any event a client could send fits on a page.
    static func bodyBytes(maxBodyBytes: Int) -> Int { max(4 << 20, maxBodyBytes) }

    /// What a page of `limit` events reserves from the read budget.
    static func reservation(limit: Int, maxBodyBytes: Int) -> Int { bodyBytes(maxBodyBytes: maxBodyBytes) + limit * perEventBytes }

    /// The most any page (of events or of dead letters) reserves: the read budget must hold one.
    static func largestReservation(maxBodyBytes: Int) -> Int {
        bodyBytes(maxBodyBytes: maxBodyBytes) + max(maxLimit * perEventBytes, DeadLetterPage.maxLimit * DeadLetterPage.perLetterBytes)
    }
}

/// Read access to the log: the streams with their head offsets, and a stream's events
/// from an offset, as stored.
struct StreamReadController<Context: RequestContext>: Sendable {
    let log: any EventLog
    let maxBodyBytes: Int
    /// Bytes of pages being built and written at once, over every request.
    let pages: ByteBudget

    func addRoutes(to router: RouterGroup<Context>) {
        router.get("/v1/streams") { _, _ in
            let streams = log.streams.map { ["name": $0, "head_offset": log.headOffset(stream: $0)] as [String: any Sendable] }
            return JSONResponse.make(.ok, ["streams": streams])
        }
        router.get("/v1/streams/:stream/events") { request, context in
            try await events(stream: context.parameters.get("stream") ?? "", request: request)
        }
    }

    /// `{"stream": "...", "events": [{"offset", "accepted_at_ms", "id", "event"}], "next_offset": N}`,
    /// where `event` is the event's JSON as received. A page ends at `limit` events or at its
    /// bytes (`StreamReadPage`), whichever comes first; `next_offset` says where to go on.
    private func events(stream: String, request: Request) async throws -> Response {
        guard log.streams.contains(stream) else { return JSONResponse.error(.notFound, "unknown stream '\(stream)'") }
        let query = request.uri.queryParameters
        guard let from = Int64(query["from"].map(String.init) ?? "0"), from >= 0 else {
            return JSONResponse.error(.badRequest, "'from' must be a non-negative offset", field: "from")
        }
        guard let limit = Int(query["limit"].map(String.init) ?? "100"), (1...StreamReadPage.maxLimit).contains(limit) else {
            return JSONResponse.error(.badRequest, "'limit' must be between 1 and \(StreamReadPage.maxLimit)", field: "limit")
        }
        guard let reservation = pages.reservation(StreamReadPage.reservation(limit: limit, maxBodyBytes: maxBodyBytes)) else {
            return JSONResponse.unavailable("the server is writing \(pages.limit) bytes of read pages already; retry later", retryAfterSeconds: 1)
        }
        let events: [StoredEvent]
        do {
            events = try await log.read(stream: stream, from: from, limit: limit, maxBytes: StreamReadPage.bodyBytes(maxBodyBytes: maxBodyBytes))
        } catch EventLogError.deleted(_, let firstRetained) {
            return JSONResponse.make(
                .gone,
                [
                    "error": "the events of stream '\(stream)' before offset \(firstRetained) were deleted by retention; read from first_retained_offset",
                    "index": NSNull(), "field": "from", "first_retained_offset": firstRetained,
                ])
        }
        var buffer = ByteBuffer()
        buffer.writeString(#"{"stream":"\#(stream)","events":["#)
        for (index, event) in events.enumerated() {
            if index > 0 { buffer.writeString(",") }
            buffer.writeString(#"{"offset":\#(event.offset),"accepted_at_ms":\#(event.acceptedAtMs),"id":"#)
            buffer.writeString(event.id.map(JSONString.quoted) ?? "null")
            buffer.writeString(#","event":"#)
            buffer.writeImmutableBuffer(event.body)
            buffer.writeString("}")
        }
        buffer.writeString(#"],"next_offset":\#((events.last?.offset).map { $0 + 1 } ?? from)}"#)
        return .page(buffer, holding: reservation)
    }
}
