/// When the SQLite writer checkpoints the WAL itself, between two commits.
///
/// The background checkpointer copies frames while commits keep adding new ones, so it
/// never finds the WAL fully copied, and SQLite only starts the WAL file over after a
/// checkpoint that copied every frame. Without that, the WAL grew by the whole run (1.4 GB
/// in a 40 s run at 5x peak), and every commit's fsync had to allocate new blocks. A
/// checkpoint by the writer copies every frame (nothing is committed meanwhile), but
/// stalls commits while it runs (10–100 ms measured, most of it the database's fsync),
/// so it is done only past a size and at most so often.
struct WALRestartPolicy: Sendable {
    /// WAL size past which the writer checkpoints.
    var byteThreshold: Int
    var minimumInterval: Duration
    private var last: ContinuousClock.Instant?

    init(byteThreshold: Int = 32 << 20, minimumInterval: Duration = .milliseconds(500)) {
        self.byteThreshold = byteThreshold
        self.minimumInterval = minimumInterval
    }

    /// Whether to checkpoint now, given the WAL's size at the last background checkpoint.
    func shouldCheckpoint(walBytes: Int, now: ContinuousClock.Instant) -> Bool {
        guard walBytes > byteThreshold else { return false }
        guard let last else { return true }
        return now - last >= minimumInterval
    }

    mutating func checkpointed(at instant: ContinuousClock.Instant) {
        last = instant
    }
}
