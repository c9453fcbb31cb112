/// How many partitions of a stream one of several processes delivers, and which it claims
/// or lets go to get there: a fair share is `ceil(partitions / members)`.
///
/// A process short of its share claims free partitions (those it does not run), trying
/// them in turn from a random start so that processes starting together do not all ask
/// for the same one first. A process over its share (more have joined) lets the
/// highest-numbered of its active partitions go.
public struct PartitionShare: Sendable, Equatable {
    /// What a process does about its partitions.
    public enum Decision: Sendable, Equatable {
        /// Claim up to `wanted` of `candidates`, in this order.
        case claim(wanted: Int, candidates: [Int])
        /// Let these partitions go (their sessions drain and release their leases).
        case handOver([Int])
        /// Keep what it has.
        case keep
    }

    /// Partitions the stream is cut into.
    public var partitions: Int

    public init(partitions: Int) {
        precondition(partitions >= 1, "a stream has at least one partition")
        self.partitions = partitions
    }

    /// Partitions a process should deliver while `members` processes share the stream.
    public func share(members: Int) -> Int {
        let members = max(1, members)
        return (partitions + members - 1) / members
    }

    /// What to do with `members` processes sharing the stream, `active` the partitions
    /// this process delivers and is keeping, `running` those it still runs (active ones and
    /// ones finishing after being let go), `start` in `0..<partitions` where claims begin.
    public func decide(members: Int, active: Set<Int>, running: Set<Int>, start: Int) -> Decision {
        let share = share(members: members)
        if active.count > share {
            return .handOver(Array(active.sorted(by: >).prefix(active.count - share)))
        }
        guard active.count < share else { return .keep }
        let candidates = (0..<partitions).map { (start + $0) % partitions }.filter { !running.contains($0) }
        return candidates.isEmpty ? .keep : .claim(wanted: share - active.count, candidates: candidates)
    }
}
