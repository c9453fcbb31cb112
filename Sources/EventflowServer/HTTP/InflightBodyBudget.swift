import Synchronization

/// The bytes of request bodies the collector reads at once, before the log admits them.
///
/// Each request reserves its `Content-Length` (or the body limit when it sends none) before
/// its body is read, and gives it back once answered. A request that does not fit gets 503
/// at once, so that thousands of clients sending large bodies slowly cannot make the process
/// hold connections × body limit bytes.
final class InflightBodyBudget: Sendable {
    let limit: Int
    private let reserved = Mutex(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Reserves `bytes`; false, reserving nothing, when they do not fit.
    func reserve(_ bytes: Int) -> Bool {
        reserved.withLock { reserved in
            guard bytes <= limit - reserved else { return false }
            reserved += bytes
            return true
        }
    }

    func release(_ bytes: Int) {
        reserved.withLock { $0 -= bytes }
    }
}
