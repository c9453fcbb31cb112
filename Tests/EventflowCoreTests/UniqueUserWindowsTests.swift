import EventflowCore
import Testing

/// What the processor stores from drained changes: results, and users of open windows.
private struct StoredWindows {
    var results: [Int64: WindowResult] = [:]
    var users: [Int64: [UserKey]] = [:]
    var maxEventTimeMs: Int64?

    mutating func save(_ changes: WindowChanges, maxEventTimeMs: Int64?) {
        for result in changes.results { results[result.start] = result }
        for (start, new) in changes.newUsers { users[start, default: []] += new }
        for start in changes.finalized { users[start] = nil }
        for (start, count) in changes.lateDroppedInFinalWindows {
            results[start, default: WindowResult(windowSeconds: 60, start: start, closed: true, final: true)].lateDropped += count
        }
        self.maxEventTimeMs = maxEventTimeMs
    }

    var openWindows: [(result: WindowResult, users: [UserKey])] {
        results.values.filter { !$0.final }.map { ($0, users[$0.start] ?? []) }
    }
}

@Suite struct UniqueUserWindowsTests {
    static func user(_ n: Int) -> UserKey { UserKey(String(n, radix: 16)) }

    @Test func emitsOnCloseUpdatesWithinTheLatenessThenFinalizesAndCountsLaterFramesAsDropped() {
        var windows = UniqueUserWindows(windowSeconds: 60, latenessSeconds: 5)
        windows.add(Self.user(1), eventTimeMs: 10_000)
        windows.add(Self.user(2), eventTimeMs: 20_000)
        windows.add(Self.user(1), eventTimeMs: 30_000)
        var changes = windows.drainChanges()
        #expect(changes.results == [WindowResult(windowSeconds: 60, start: 0, users: 2, frames: 3)])
        #expect(changes.emitted.isEmpty)
        #expect(Set(changes.newUsers[0] ?? []) == [Self.user(1), Self.user(2)])

        windows.add(Self.user(3), eventTimeMs: 61_000)
        changes = windows.drainChanges()
        #expect(changes.emitted == [WindowResult(windowSeconds: 60, start: 0, users: 2, frames: 3, closed: true)])

        windows.add(Self.user(4), eventTimeMs: 50_000)
        changes = windows.drainChanges()
        #expect(changes.emitted == [WindowResult(windowSeconds: 60, start: 0, users: 3, frames: 4, closed: true)])

        windows.add(Self.user(1), eventTimeMs: 55_000)
        changes = windows.drainChanges()
        #expect(changes.emitted.isEmpty, "a late frame that leaves the user count unchanged emits nothing")
        #expect(changes.results.first { $0.start == 0 }?.frames == 5)

        windows.add(Self.user(5), eventTimeMs: 66_000)
        changes = windows.drainChanges()
        #expect(changes.finalized == [0])
        #expect(changes.emitted == [WindowResult(windowSeconds: 60, start: 0, users: 3, frames: 5, closed: true, final: true)])
        #expect(windows.openWindowCount == 1)

        windows.add(Self.user(9), eventTimeMs: 59_999)
        changes = windows.drainChanges()
        #expect(changes.lateDroppedInFinalWindows == [0: 1])
        #expect(changes.lateDropped == 1)
        #expect(changes.emitted.isEmpty)
    }

    @Test func aWindowFirstSeenAfterTheEventTimePassedItsEndIsClosedAtOnce() {
        var windows = UniqueUserWindows(windowSeconds: 60, latenessSeconds: 5)
        windows.add(Self.user(1), eventTimeMs: 121_000)
        windows.add(Self.user(2), eventTimeMs: 117_000)
        let changes = windows.drainChanges()
        #expect(changes.emitted == [WindowResult(windowSeconds: 60, start: 60, users: 1, frames: 1, closed: true)])
    }

    @Test func withoutLatenessAWindowIsFinalAsSoonAsItCloses() {
        var windows = UniqueUserWindows(windowSeconds: 60, latenessSeconds: 0)
        windows.add(Self.user(1), eventTimeMs: 1_000)
        windows.add(Self.user(2), eventTimeMs: 60_000)
        let changes = windows.drainChanges()
        #expect(changes.emitted == [WindowResult(windowSeconds: 60, start: 0, users: 1, frames: 1, closed: true, final: true)])
    }

    /// Years-old frames replayed fast, each up to 3 s out of order: every result is exact and at
    /// most two windows are ever held in memory.
    @Test func historicalDataIsExactWithBoundedMemory() {
        var random = SplitMix64(seed: 7)
        let base: Int64 = 1_468_244_340_000
        var frames: [(user: Int, ms: Int64, arrival: Int64)] = []
        for second in 0..<(200 * 60) {
            for _ in 0..<3 {
                let ms = base + Int64(second) * 1000 + Int64(random.next() % 1000)
                frames.append((Int(random.next() % 500), ms, ms + Int64(random.next() % 3000)))
            }
        }
        frames.sort { $0.arrival < $1.arrival }
        var expected: [Int64: Set<Int>] = [:]
        var windows = UniqueUserWindows(windowSeconds: 60, latenessSeconds: 5)
        var finals: [Int64: WindowResult] = [:]
        var mostOpen = 0
        for frame in frames {
            expected[frame.ms / 1000 / 60 * 60, default: []].insert(frame.user)
            windows.add(Self.user(frame.user), eventTimeMs: frame.ms)
            mostOpen = max(mostOpen, windows.openWindowCount)
            for result in windows.drainChanges().emitted where result.final { finals[result.start] = result }
        }
        #expect(mostOpen <= 2)
        #expect(finals.count == 199, "all but the last window are final")
        for (start, result) in finals {
            #expect(result.users == Int64(expected[start]?.count ?? -1))
            #expect(result.lateDropped == 0)
        }
    }

    /// A restart restores the open windows from what was stored: the end result is the
    /// same as without the restart, with no user counted twice.
    @Test func restoringFromStoredStateGivesTheSameResults() {
        let frames: [(Int, Int64)] = (0..<3000).map { index in
            let spread: Int64 = Int64(index) * 97 % 9_000
            return (index % 97, Int64(index) * 60 + spread)
        }
        var uninterrupted = UniqueUserWindows(windowSeconds: 60, latenessSeconds: 5)
        var expected = StoredWindows()
        for (user, ms) in frames { uninterrupted.add(Self.user(user), eventTimeMs: ms) }
        expected.save(uninterrupted.drainChanges(), maxEventTimeMs: uninterrupted.maxEventTimeMs)

        var stored = StoredWindows()
        var first = UniqueUserWindows(windowSeconds: 60, latenessSeconds: 5)
        for (index, (user, ms)) in frames.prefix(1700).enumerated() {
            first.add(Self.user(user), eventTimeMs: ms)
            if index % 100 == 0 { stored.save(first.drainChanges(), maxEventTimeMs: first.maxEventTimeMs) }
        }
        stored.save(first.drainChanges(), maxEventTimeMs: first.maxEventTimeMs)
        var second = UniqueUserWindows(windowSeconds: 60, latenessSeconds: 5)
        second.restore(maxEventTimeMs: stored.maxEventTimeMs, windows: stored.openWindows)
        for (user, ms) in frames.dropFirst(1700) { second.add(Self.user(user), eventTimeMs: ms) }
        stored.save(second.drainChanges(), maxEventTimeMs: second.maxEventTimeMs)

        #expect(stored.results == expected.results)
    }
}
