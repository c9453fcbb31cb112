/// What a storage does for ``GroupCommitWriter``: execute one ``BatchPlan`` in one
/// transaction, and prove with a small write that it takes writes again.
///
/// The writer owns everything around it (the stream checks, the queue, the end of a commit:
/// health, the failure log, the commit metrics and every caller's result), so a backend
/// implements only its statements.
protocol GroupCommitStorage: Sendable {
    /// Executes `plan` in one transaction: its other writes in their lock order, then the
    /// records of each stream at the stream's next offsets, the replayed letters after the
    /// batch's records. A write that fails on its own (a processor step, a lost lease) is
    /// reported in the result and the rest commits; any other failure commits nothing.
    func commit(_ plan: BatchPlan) async throws(EventLogError) -> CommittedBatch
    /// A small transaction that proves the storage takes writes again (space came back, a
    /// lock was released); the log is ready again once it succeeds.
    func probe() async throws(EventLogError)
}
