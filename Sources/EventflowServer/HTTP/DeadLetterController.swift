import EventflowCore
import EventflowLog
import Foundation
import Hummingbird
import NIOCore

/// The size of a page of dead letters: at most `maxLimit` letters and the bodies of a page
/// of events (`StreamReadPage.bodyBytes`).
enum DeadLetterPage {
    static let maxLimit = 1_000
    /// What a letter adds to its body on a page at most: its offset, id, status and time, and
    /// the excerpt of the target's answer (512 bytes, up to 1,536 once invalid UTF-8 is
    /// replaced, each byte up to 6 when quoted).
    static let perLetterBytes = 10 << 10
}

/// `GET /v1/dead-letters` lists what the target rejected permanently, a page at a time;
/// `POST /v1/dead-letters/replay` puts it back on its stream, all or by id.
struct DeadLetterController<Context: RequestContext>: Sendable {
    let log: any EventLog
    let deadLetters: any DeadLetterStore
    let maxBodyBytes: Int
    /// Bytes of pages being built and written at once, shared with the stream read API.
    let pages: ByteBudget

    func addRoutes(to router: RouterGroup<Context>) {
        router.get("/v1/dead-letters") { request, _ in try await list(request) }
        router.post("/v1/dead-letters/replay") { request, _ in try await replay(request) }
    }

    /// `{"stream", "count", "dead_letters": [{"offset", "id", "status", "response", "failed_at_ms", "event"}], "next_offset"}`:
    /// at most `limit` letters from offset `from` on and 4 MiB of their bodies (or the body
    /// limit); `next_offset` says where the next page starts.
    private func list(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let stream = query["stream"].map(String.init) ?? "events"
        guard log.streams.contains(stream) else { return JSONResponse.error(.notFound, "unknown stream '\(stream)'", field: "stream") }
        guard let limit = Int(query["limit"].map(String.init) ?? "100"), (1...DeadLetterPage.maxLimit).contains(limit) else {
            return JSONResponse.error(.badRequest, "'limit' must be between 1 and \(DeadLetterPage.maxLimit)", field: "limit")
        }
        guard let from = Int64(query["from"].map(String.init) ?? "0"), from >= 0 else {
            return JSONResponse.error(.badRequest, "'from' must be a non-negative offset", field: "from")
        }
        let bodyBytes = StreamReadPage.bodyBytes(maxBodyBytes: maxBodyBytes)
        guard let reservation = pages.reservation(bodyBytes + limit * DeadLetterPage.perLetterBytes) else {
            return JSONResponse.unavailable("the server is writing \(pages.limit) bytes of read pages already; retry later", retryAfterSeconds: 1)
        }
        let letters = try await deadLetters.deadLetters(stream: stream, from: from, limit: limit, maxBytes: bodyBytes)
        var buffer = ByteBuffer()
        buffer.writeString(#"{"stream":\#(JSONString.quoted(stream)),"count":\#(letters.count),"dead_letters":["#)
        for (index, letter) in letters.enumerated() {
            if index > 0 { buffer.writeString(",") }
            buffer.writeString(
                #"{"offset":\#(letter.offset),"id":\#(letter.id.map(JSONString.quoted) ?? "null"),"status":\#(letter.status),"response":\#(JSONString.quoted(letter.response)),"failed_at_ms":\#(letter.failedAtMs),"event":"#
            )
            buffer.writeImmutableBuffer(letter.event.body)
            buffer.writeString("}")
        }
        buffer.writeString(#"],"next_offset":\#((letters.last?.offset).map { $0 + 1 } ?? from)}"#)
        return .page(buffer, holding: reservation)
    }

    /// Body (optional): `{"stream": "events", "ids": ["…"]}`; without ids, everything is replayed.
    private func replay(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 1 << 20)
        let parsed: ReplayRequest
        if body.readableBytes == 0 {
            parsed = ReplayRequest()
        } else {
            do {
                parsed = try JSONDecoder().decode(ReplayRequest.self, from: Data(buffer: body))
            } catch {
                return JSONResponse.error(.badRequest, #"body must be {"stream": "events", "ids": ["id", ...]} (both optional)"#)
            }
        }
        let stream = parsed.stream ?? "events"
        guard log.streams.contains(stream) else { return JSONResponse.error(.notFound, "unknown stream '\(stream)'", field: "stream") }
        do {
            let replayed = try await deadLetters.replayAllDeadLetters(stream: stream, ids: parsed.ids, below: log.headOffset(stream: stream))
            return JSONResponse.make(.ok, ["stream": stream, "replayed": replayed])
        } catch let error as EventLogError {
            return IngestController<Context>.response(for: error)
        }
    }
}

/// The body of `POST /v1/dead-letters/replay`.
struct ReplayRequest: Decodable {
    var stream: String?
    var ids: [String]?
}
