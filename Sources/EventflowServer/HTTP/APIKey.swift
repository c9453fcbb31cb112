import HTTPTypes
import Hummingbird

/// The optional shared secret guarding ingest and read routes, sent as `X-Api-Key: KEY`
/// or `Authorization: Bearer KEY`.
struct APIKey: Sendable {
    static let headerName = HTTPField.Name("X-Api-Key")!
    let secret: [UInt8]

    init?(_ secret: String?) {
        guard let secret, !secret.isEmpty else { return nil }
        self.secret = Array(secret.utf8)
    }

    func authorizes(_ headers: HTTPFields) -> Bool {
        if let given = headers[Self.headerName], constantTimeEquals(Array(given.utf8)) { return true }
        if let authorization = headers[.authorization], authorization.lowercased().hasPrefix("bearer ") {
            return constantTimeEquals(Array(authorization.utf8.dropFirst(7)))
        }
        return false
    }

    static var unauthorized: Response {
        JSONResponse.error(
            .unauthorized, "missing or wrong API key: send it as 'X-Api-Key: KEY' or 'Authorization: Bearer KEY'",
            headers: [.wwwAuthenticate: "Bearer"])
    }

    /// Compares whole keys, length included, without an early exit, so response time does
    /// not reveal how much of the key matched.
    func constantTimeEquals(_ candidate: [UInt8]) -> Bool {
        var difference = candidate.count == secret.count ? UInt8(0) : 1
        for index in secret.indices {
            difference |= secret[index] ^ (index < candidate.count ? candidate[index] : 0)
        }
        return difference == 0
    }
}

/// Rejects requests without the API key, for routes outside the collector's own check.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: APIKey

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard key.authorizes(request.headers) else { return APIKey.unauthorized }
        return try await next(request, context)
    }
}

extension RouterMethods {
    /// Answers `405 Method Not Allowed` with an `Allow` header for the other methods on `path`.
    @discardableResult
    func methodNotAllowed(_ path: RouterPath, allowed: [HTTPRequest.Method]) -> Self {
        let allow = allowed.map(\.rawValue).joined(separator: ", ")
        for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch] where !allowed.contains(method) {
            on(path, method: method) { _, _ in
                JSONResponse.error(.methodNotAllowed, "method not allowed on this route; use \(allow)", headers: [.allow: allow])
            }
        }
        return self
    }
}
