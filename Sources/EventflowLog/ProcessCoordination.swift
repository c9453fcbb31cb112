/// How processes sharing one log divide its work: leases on each processor's stream,
/// groups whose members take a fair share of the leases, the ordering holds of a
/// partitioned processor, and the partition layout every process must agree on.
///
/// A shared log (PostgreSQL) coordinates through its tables; the embedded log is opened by
/// one process, which ``LocalCoordination`` describes.
public protocol ProcessCoordination: Sendable {
    /// Claims the work of `processor` on `stream` for this process; true when this process
    /// holds it. Of several processes sharing one log, one at a time holds a lease; the log
    /// renews it while the process lives, and cursor and state commits of a processor whose
    /// lease another process took fail with ``EventLogError/leaseLost(processor:stream:)``.
    func acquireLease(processor: String, stream: String) async throws -> Bool
    /// Whether this process still holds the lease, as of its last renewal.
    func holdsLease(processor: String, stream: String) -> Bool
    /// Gives the lease up at once (on a graceful stop) so another process takes over without
    /// waiting for it to expire.
    func releaseLease(processor: String, stream: String) async
    /// Registers this process as one of those running `group` (e.g. a partitioned
    /// processor), or renews its registration, which lapses after a lease's duration
    /// without renewal; returns how many processes are registered now, itself included.
    /// Processes use it to take a fair share of the group's leases.
    func joinGroup(_ group: String) async throws -> Int
    /// Ends this process's registration in `group` at once (on a graceful stop).
    func leaveGroup(_ group: String) async
    /// Records whether `member` of `group` (a partition's cursor name) holds its later
    /// events back behind one stuck past the ordering window, so that the group's other
    /// members hold theirs too.
    func setHold(group: String, member: String, holding: Bool) async throws
    /// The members of `group` holding now; on a shared log, only those whose lease is live
    /// (a process that died holding does not hold the others back for ever).
    func holdingMembers(group: String) async throws -> Set<String>
    /// Records that `group` cuts its stream into `partitions`, unless a layout is recorded
    /// already, and returns the recorded one: processes starting at once on an empty shared
    /// log with different layouts agree on the first, and the others can refuse to run.
    func settleLayout(group: String, partitions: Int) async throws -> Int
}
