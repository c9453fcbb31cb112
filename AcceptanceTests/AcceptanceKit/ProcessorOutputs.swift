/// Reads every processor's output over the system's HTTP API and holds it against a
/// ``ProcessorOracle``.
extension ProcessorOracle {
    /// The mismatches between the system's outputs and the oracle (empty: all agree).
    public func check(_ system: HTTPProbe) async throws -> [String] {
        var mismatches: [String] = []
        for service in logCounts.keys.sorted() {
            let counts = try await system.get("/v1/logs/severity?service=\(service)").json?["counts"] as? [String: Int] ?? [:]
            mismatches += logMismatches(service: service, counts: counts)
        }
        mismatches += try await concurrently(domains.keys.sorted()) { domain in
            let answer = try await system.get("/domains/\(domain)").json ?? [:]
            return domainMismatches(
                domain: domain, delivered: answer["delivered"] as? Int ?? -1, bounced: answer["bounced"] as? Int ?? -1, status: answer["status"] as? String ?? "")
        }
        mismatches += try await concurrently(accounts.keys.sorted()) { id in
            let response = try await system.get("/v1/accounts/\(id)")
            let answer = response.status == 200 ? response.json ?? [:] : [:]
            return accountMismatches(id: id, version: answer["version"] as? Int, tokens: answer["tokens"] as? Int)
        }
        if !frameWindows.isEmpty {
            // Only this run's windows: its frames lie in an hour of the past of its own.
            let from = frameWindows.keys.min() ?? 0
            let to = (frameWindows.keys.max() ?? 0) + Self.windowSeconds
            let results = try await system.get("/v1/unique-users?window=1m&from=\(from)&to=\(to)").json?["results"] as? [[String: Any]] ?? []
            mismatches += frameMismatches(
                results.map {
                    WindowResult(
                        start: $0["start"] as? Int ?? -1, users: $0["users"] as? Int ?? -1, frames: $0["frames"] as? Int ?? -1,
                        lateDropped: $0["late_dropped"] as? Int ?? -1)
                })
        }
        return mismatches
    }

    /// Runs `body` for every key, 16 at a time, and joins what they found in key order.
    private func concurrently(_ keys: [String], _ body: @escaping @Sendable (String) async throws -> [String]) async throws -> [String] {
        try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
            var found = [[String]](repeating: [], count: keys.count)
            var next = 0
            func start(_ group: inout ThrowingTaskGroup<(Int, [String]), any Error>) {
                guard next < keys.count else { return }
                let index = next
                next += 1
                group.addTask { (index, try await body(keys[index])) }
            }
            for _ in 0..<16 { start(&group) }
            while let (index, mismatches) = try await group.next() {
                found[index] = mismatches
                start(&group)
            }
            return found.flatMap { $0 }
        }
    }
}
