import EventflowCore
import HTTPTypes
import Hummingbird

/// The optional shared secret guarding ingest and read routes, sent as `X-Api-Key: KEY`
/// or `Authorization: Bearer KEY`.
struct APIKey: Sendable {
    static let headerName = HTTPField.Name("X-Api-Key")!
    let secret: SharedSecret

    init?(_ secret: String?) {
        guard let secret = secret.flatMap(SharedSecret.init) else { return nil }
        self.secret = secret
    }

    func authorizes(_ headers: HTTPFields) -> Bool {
        secret.authorizes(apiKeyHeader: headers[Self.headerName], authorizationHeader: headers[.authorization])
    }

    static var unauthorized: Response {
        JSONResponse.error(
            .unauthorized, "missing or wrong API key: send it as 'X-Api-Key: KEY' or 'Authorization: Bearer KEY'",
            headers: [.wwwAuthenticate: "Bearer"])
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
