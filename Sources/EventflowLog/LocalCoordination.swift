import Synchronization

/// The coordination of a log only one process opens (the embedded SQLite log): that
/// process holds every lease, is the only member of every group, and keeps the ordering
/// holds in memory; its layout is the one it asks for (the cursors it finds say which
/// layout earlier runs had).
public final class LocalCoordination: ProcessCoordination {
    private let holds = Mutex<[String: Set<String>]>([:])

    public init() {}

    public func acquireLease(processor: String, stream: String) async throws -> Bool { true }

    public func holdsLease(processor: String, stream: String) -> Bool { true }

    public func releaseLease(processor: String, stream: String) async {}

    public func joinGroup(_ group: String) async throws -> Int { 1 }

    public func leaveGroup(_ group: String) async {}

    public func setHold(group: String, member: String, holding: Bool) async throws {
        holds.withLock { holds in
            if holding { holds[group, default: []].insert(member) } else { holds[group]?.remove(member) }
        }
    }

    public func holdingMembers(group: String) async throws -> Set<String> {
        holds.withLock { $0[group] ?? [] }
    }

    public func settleLayout(group: String, partitions: Int) async throws -> Int { partitions }
}
