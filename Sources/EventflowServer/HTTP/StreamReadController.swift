import EventflowCore
import EventflowLog
import Hummingbird
import NIOCore

/// Read access to the log: the streams with their head offsets, and a stream's events
/// from an offset, as stored.
struct StreamReadController<Context: RequestContext>: Sendable {
    static var maxLimit: Int { 10_000 }
    let log: any EventLog

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
    /// where `event` is the event's JSON as received.
    private func events(stream: String, request: Request) async throws -> Response {
        guard log.streams.contains(stream) else { return JSONResponse.error(.notFound, "unknown stream '\(stream)'") }
        let query = request.uri.queryParameters
        guard let from = Int64(query["from"].map(String.init) ?? "0"), from >= 0 else {
            return JSONResponse.error(.badRequest, "'from' must be a non-negative offset", field: "from")
        }
        guard let limit = Int(query["limit"].map(String.init) ?? "100"), (1...Self.maxLimit).contains(limit) else {
            return JSONResponse.error(.badRequest, "'limit' must be between 1 and \(Self.maxLimit)", field: "limit")
        }
        let events = try await log.read(stream: stream, from: from, limit: limit)
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
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: buffer))
    }
}
