import Synchronization

/// Bytes that requests may make the process hold at once, shared by all of them: the
/// request bodies the collector reads before the log admits them, or the pages the read
/// API writes.
///
/// A request reserves what it may hold (a body's `Content-Length`, a page's byte limit)
/// before it holds it, and gives it back when done. One that does not fit gets 503 at once,
/// so that thousands of clients cannot make the process hold connections × limit bytes.
final class ByteBudget: Sendable {
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

    /// Reserves `bytes` until the returned reservation is gone (e.g. once a response body
    /// that captured it has been written or dropped); nil when they do not fit.
    func reservation(_ bytes: Int) -> Reservation? {
        reserve(bytes) ? Reservation(budget: self, bytes: bytes) : nil
    }

    /// Bytes held from a budget, given back when the last reference to it goes.
    final class Reservation: Sendable {
        let budget: ByteBudget
        let bytes: Int

        init(budget: ByteBudget, bytes: Int) {
            self.budget = budget
            self.bytes = bytes
        }

        deinit { budget.release(bytes) }
    }
}
