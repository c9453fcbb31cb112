import EventflowCore
import EventflowLog
import Hummingbird
import NIOCore

/// `GET /v1/unique-users?window=1m&from=&to=&limit=`: window results whose start is in
/// `[from, to)` (unix seconds), oldest first; windows not yet final are included with
/// `"final": false`.
struct UniqueUsersController<Context: RequestContext>: Sendable {
    static var maxLimit: Int { 100_000 }
    let state: any ProcessorStateStore
    let configuration: UniqueUsersConfiguration

    func addRoutes(to router: RouterGroup<Context>) {
        router.get("/v1/unique-users") { request, _ in try await results(request) }
    }

    private func results(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let configured = configuration.windowSeconds.map(UniqueUsersConfiguration.windowText).joined(separator: ", ")
        let windowText = query["window"].map(String.init) ?? UniqueUsersConfiguration.windowText(configuration.windowSeconds[0])
        guard let window = UniqueUsersConfiguration.windowSeconds(windowText), configuration.windowSeconds.contains(window) else {
            return JSONResponse.error(.badRequest, "'window' must be one of the configured sizes: \(configured)", field: "window")
        }
        guard let from = Int64(query["from"].map(String.init) ?? "0") else {
            return JSONResponse.error(.badRequest, "'from' must be unix seconds", field: "from")
        }
        guard let to = Int64(query["to"].map(String.init) ?? String(Int64.max)) else {
            return JSONResponse.error(.badRequest, "'to' must be unix seconds", field: "to")
        }
        guard let limit = Int(query["limit"].map(String.init) ?? "10000"), (1...Self.maxLimit).contains(limit) else {
            return JSONResponse.error(.badRequest, "'limit' must be between 1 and \(Self.maxLimit)", field: "limit")
        }
        let results = try await UniqueUsersStore(state: state).results(windowSeconds: window, from: from, to: to, limit: limit)
        var body = #"{"window":"\#(UniqueUsersConfiguration.windowText(window))","results":["#
        for (index, result) in results.enumerated() {
            body += (index > 0 ? "," : "") + result.json()
        }
        body += "]}"
        return JSONResponse.make(.ok, bytes: body.utf8)
    }
}
