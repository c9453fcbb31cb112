import EventflowCore
import EventflowLog
import Foundation
import Hummingbird
import NIOCore

/// `GET /v1/dead-letters` lists what the target rejected permanently;
/// `POST /v1/dead-letters/replay` puts it back on its stream, all or by id.
struct DeadLetterController<Context: RequestContext>: Sendable {
    let log: any EventLog
    static var maxLimit: Int { 10_000 }

    func addRoutes(to router: RouterGroup<Context>) {
        router.get("/v1/dead-letters") { request, _ in try await list(request) }
        router.post("/v1/dead-letters/replay") { request, _ in try await replay(request) }
    }

    private func list(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let stream = query["stream"].map(String.init) ?? "events"
        guard log.streams.contains(stream) else { return JSONResponse.error(.notFound, "unknown stream '\(stream)'", field: "stream") }
        guard let limit = Int(query["limit"].map(String.init) ?? "1000"), (1...Self.maxLimit).contains(limit) else {
            return JSONResponse.error(.badRequest, "'limit' must be between 1 and \(Self.maxLimit)", field: "limit")
        }
        let letters = try await log.deadLetters(stream: stream, limit: limit)
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
        buffer.writeString("]}")
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: buffer))
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
            let replayed = try await log.replayDeadLetters(stream: stream, ids: parsed.ids)
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
