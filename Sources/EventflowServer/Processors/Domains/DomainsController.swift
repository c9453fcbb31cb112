import EventflowCore
import EventflowLog
import Hummingbird

/// `GET /domains/{domain}`: the seed challenge's status lookup, answered from the
/// `domains` processor's committed counts.
struct DomainsController<Context: RequestContext>: Sendable {
    let state: any ProcessorStateStore

    func addRoutes(to router: RouterGroup<Context>) {
        router.get("/domains/:domain") { _, context in
            let name = context.parameters.get("domain") ?? ""
            guard DomainName.isValid(name) else {
                return JSONResponse.error(
                    .badRequest, "'\(name)' is not a valid domain name (at most 253 bytes; labels of 1-63 letters, digits and inner hyphens)",
                    field: "domain")
            }
            let domain = name.lowercased()
            let counts = try await DomainCountsStore(state: state).counts(of: domain)
            let status = DomainStatus(delivered: counts.delivered, bounced: counts.bounced)
            return JSONResponse.make(.ok, ["domain": domain, "status": status.rawValue, "delivered": counts.delivered, "bounced": counts.bounced])
        }
    }
}
