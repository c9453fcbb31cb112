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
        let rows = try await state.queryState(
            StateStatement("SELECT id, account_type, tokens, version, data, callback_state FROM accounts WHERE id = ?", [.text(id)]))
        guard let row = rows.first else { return JSONResponse.error(.notFound, "no account with id '\(id)'", field: "id") }
        let body = """
            {"id":\(JSONString.quoted(row.text(0) ?? "")),"accountType":\(JSONString.quoted(row.text(1) ?? "")),\
            "tokens":\(row.integer(2) ?? 0),"version":\(row.integer(3) ?? 0),"data":\(row.text(4) ?? "null"),\
            "callback":\(JSONString.quoted(row.text(5) ?? ""))}
            """
        return JSONResponse.make(.ok, bytes: body.utf8)
    }

    /// `{"top": [{"accountType", "id", "tokens", "version"}]}`: the account with the most
    /// tokens of each type (newest versions only; the smallest id on a tie), by type.
    private func top() async throws -> Response {
        let rows = try await state.queryState(
            StateStatement(
                """
                SELECT account_type, id, tokens, version FROM (SELECT account_type, id, tokens, version, \
                ROW_NUMBER() OVER (PARTITION BY account_type ORDER BY tokens DESC, id) AS rank FROM accounts) ranked \
                WHERE rank = 1 ORDER BY account_type
                """))
        let top = rows.map { row -> [String: any Sendable] in
            ["accountType": row.text(0) ?? "", "id": row.text(1) ?? "", "tokens": row.integer(2) ?? 0, "version": row.integer(3) ?? 0]
        }
        return JSONResponse.make(.ok, ["top": top])
    }
}
