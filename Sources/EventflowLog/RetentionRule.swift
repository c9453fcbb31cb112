/// Which events of a stream retention deletes: those older than the stream's maximum age
/// that every processor has passed. Whole record batches go, so an event goes only with the
/// rest of its batch; an event no processor has passed is never deleted.
public struct RetentionRule: Sendable, Equatable {
    /// Batches deleted in one transaction at most, so a deletion never holds the writer long.
    public static let batchesPerDeletion = 256

    /// Events older than this (since their commit) may be deleted.
    public var maxAgeMs: Int64

    public init(maxAgeMs: Int64) {
        self.maxAgeMs = maxAgeMs
    }

    /// What to do with a stream whose oldest batches are `oldest` (oldest first).
    public struct Decision: Sendable, Equatable {
        /// Delete the batches that lie wholly below this offset; nil: nothing to delete.
        public var deleteBelow: Int64?
        /// When to look again, unix milliseconds: when the oldest batch kept for its age comes
        /// of age, or, when none is, after the maximum age (a batch committed from now on
        /// comes of age no sooner). Batches held back by a processor may go any time its
        /// cursor moves: the caller looks again now and then for them.
        public var nextLookAtMs: Int64

        public init(deleteBelow: Int64?, nextLookAtMs: Int64) {
            self.deleteBelow = deleteBelow
            self.nextLookAtMs = nextLookAtMs
        }
    }

    /// Deletes what is older than the maximum age and below `slowestCursor` (everything of
    /// age when no processor keeps a cursor on the stream).
    public func decide(oldest: [RetainedBatch], slowestCursor: Int64?, nowMs: Int64) -> Decision {
        // Both are unix milliseconds and the age at most 100 years (``DurationText``): no
        // overflow. What a batch says comes from disk, so arithmetic on it cannot trap.
        let cutoff = nowMs - maxAgeMs
        var below: Int64?
        var nextLookAtMs = nowMs + maxAgeMs
        for batch in oldest {
            guard batch.acceptedAtMs <= cutoff else {
                nextLookAtMs = batch.acceptedAtMs.addingReportingOverflow(maxAgeMs).partialValue
                break
            }
            below = batch.lastOffset.addingReportingOverflow(1).partialValue
        }
        if let cursor = slowestCursor, let end = below { below = min(end, cursor) }
        if let end = below, let first = oldest.first, end <= first.lastOffset { below = nil }
        return Decision(deleteBelow: below, nextLookAtMs: nextLookAtMs)
    }
}
