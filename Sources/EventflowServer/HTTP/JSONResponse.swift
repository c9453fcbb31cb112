import Foundation
import Hummingbird

/// Builds JSON responses, including the error shape of docs/http-api.md:
/// `{"error": "...", "index": i, "field": "..."}`.
enum JSONResponse {
    static func make(_ status: HTTPResponse.Status, _ object: [String: any Sendable], headers: HTTPFields = [:]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return make(status, bytes: data, headers: headers)
    }

    static func make(_ status: HTTPResponse.Status, bytes: some Sequence<UInt8>, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func error(
        _ status: HTTPResponse.Status, _ message: String, index: Int? = nil, field: String? = nil, headers: HTTPFields = [:]
    ) -> Response {
        make(status, ["error": message, "index": index ?? NSNull(), "field": field ?? NSNull()], headers: headers)
    }

    /// 503 telling the client when to come back.
    static func unavailable(_ message: String, retryAfterSeconds: Int) -> Response {
        error(.serviceUnavailable, message, headers: [.retryAfter: String(retryAfterSeconds)])
    }
}

extension Response {
    /// A JSON page of the read API that holds `reservation` of the page budget until it has
    /// been written (or dropped, when the client went away first).
    static func page(_ page: ByteBuffer, holding reservation: ByteBudget.Reservation) -> Response {
        let body = ResponseBody(contentLength: page.readableBytes) { writer in
            try await writer.write(page)
            try await writer.finish(nil)
            withExtendedLifetime(reservation) {}
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: body)
    }
}
