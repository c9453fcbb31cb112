import EventflowCore
import EventflowLog
import Hummingbird

/// The `accounts` read API: one account's newest version, and the top account per type.
struct AccountsController<Context: RequestContext>: Sendable {
    let state: any ProcessorStateStore

    func addRoutes(to router: RouterGroup<Context>) {
        router.get("/v1/accounts/top") { _, _ in try await top() }
        router.get("/v1/accounts/:id") { _, context in try await account(id: context.parameters.get("id") ?? "") }
    }

    /// `{"id", "accountType", "tokens", "version", "data", "callback"}`, or 404.
    private func account(id: String) async throws -> Response {
        guard let account = try await AccountsStore(state: state).account(id: id) else {
            return JSONResponse.error(.notFound, "no account with id '\(id)'", field: "id")
        }
        let body = """
            {"id":\(JSONString.quoted(account.id)),"accountType":\(JSONString.quoted(account.accountType)),\
            "tokens":\(account.tokens),"version":\(account.version),"data":\(account.data ?? "null"),\
            "callback":\(JSONString.quoted(account.callback))}
            """
        return JSONResponse.make(.ok, bytes: body.utf8)
    }

    /// `{"top": [{"accountType", "id", "tokens", "version"}]}`: the account with the most
    /// tokens of each type (newest versions only; the smallest id on a tie), by type.
    private func top() async throws -> Response {
        let top = try await AccountsStore(state: state).topByType().map { account -> [String: any Sendable] in
            ["accountType": account.accountType, "id": account.id, "tokens": account.tokens, "version": account.version]
        }
        return JSONResponse.make(.ok, ["top": top])
    }
}
