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
