import EventflowCore
import Testing

@Suite struct BatchFlushPolicyTests {
    @Test func flushesWhenTheBatchIsFull() {
        var policy = BatchFlushPolicy(maxEvents: 5000, maxDelay: 1)
        policy.read(4999, now: 0)
        #expect(!policy.shouldFlush(now: 0.5))
        #expect(policy.room == 1)
        policy.read(1, now: 0.5)
        #expect(policy.shouldFlush(now: 0.5))
        #expect(policy.room == 0)
    }

    /// Large events fill a batch by their bytes before its count: a processor holds at most
    /// `maxBytes` of bodies (and one event beyond, read alone when it is larger).
    @Test func flushesWhenTheBodiesFillTheBytes() {
        var policy = BatchFlushPolicy(maxEvents: 5000, maxDelay: 1, maxBytes: 1_000)
        policy.read(3, bytes: 600, now: 0)
        #expect(policy.byteRoom == 400)
        #expect(policy.room == 4997)
        #expect(!policy.shouldFlush(now: 0))
        policy.read(1, bytes: 500, now: 0)
        #expect(policy.byteRoom == 0)
        #expect(policy.room == 0)
        #expect(policy.shouldFlush(now: 0))
        policy.flushed()
        #expect(policy.pendingBytes == 0)
        #expect(policy.byteRoom == 1_000)
    }

    @Test func flushesOnceTheIntervalPassedSinceTheFirstUnflushedEvent() {
        var policy = BatchFlushPolicy(maxEvents: 5000, maxDelay: 1)
        #expect(!policy.shouldFlush(now: 10))
        #expect(policy.deadline == nil)
        policy.read(3, now: 2)
        policy.read(3, now: 2.9)
        #expect(policy.deadline == 3)
        #expect(!policy.shouldFlush(now: 2.99))
        #expect(policy.shouldFlush(now: 3))
        policy.flushed()
        #expect(policy.pending == 0)
        #expect(!policy.shouldFlush(now: 100))
        policy.read(1, now: 100)
        #expect(policy.deadline == 101)
    }
}

@Suite struct DomainStatusTests {
    @Test func catchAllNeedsMoreThanAThousandDeliveriesAndNoBounce() {
        #expect(DomainStatus(delivered: 0, bounced: 0) == .unknown)
        #expect(DomainStatus(delivered: 1000, bounced: 0) == .unknown)
        #expect(DomainStatus(delivered: 1001, bounced: 0) == .catchAll)
        #expect(DomainStatus(delivered: 1001, bounced: 1) == .notCatchAll)
        #expect(DomainStatus(delivered: 0, bounced: 1) == .notCatchAll)
        #expect(DomainStatus.catchAll.rawValue == "catch-all")
        #expect(DomainStatus.notCatchAll.rawValue == "not catch-all")
    }
}

@Suite struct AccountVersionRuleTests {
    @Test func keepsTheHighestVersionAndCancelsAPendingCallback() {
        #expect(AccountVersionRule.decide(current: nil, update: 0) == .indexed(cancelledVersion: nil))
        let pending = AccountVersion(version: 5, callback: .pending)
        #expect(AccountVersionRule.decide(current: pending, update: 6) == .indexed(cancelledVersion: 5))
        #expect(AccountVersionRule.decide(current: pending, update: 5) == .stale(currentVersion: 5))
        #expect(AccountVersionRule.decide(current: pending, update: 4) == .stale(currentVersion: 5))
        let fired = AccountVersion(version: 5, callback: .fired)
        #expect(AccountVersionRule.decide(current: fired, update: 9) == .indexed(cancelledVersion: nil))
    }
}

@Suite struct TopLevelFieldsTests {
    @Test func readsOnlyTopLevelMembersWhateverNestedObjectsHold() {
        let json = #"{"uid":"ab12","ts":1468244384,"nested":{"uid":7,"ts":"x","uid":8},"data":[1,{"a":null}],"f":1.5,"s":"a\"b"}"#
        let fields = Array(json.utf8).withUnsafeBytes { TopLevelFields(["uid", "ts", "nested", "data", "f", "s"]).decode($0) }
        #expect(fields?["uid"] == .string("ab12"))
        #expect(fields?["ts"] == .integer(1_468_244_384))
        #expect(fields?["nested"] == .json(#"{"uid":7,"ts":"x","uid":8}"#))
        #expect(fields?["data"] == .json(#"[1,{"a":null}]"#))
        #expect(fields?["f"] == .json("1.5"))
        #expect(fields?["s"]?.jsonText == #""a\"b""#)
        #expect(Array("[1]".utf8).withUnsafeBytes { TopLevelFields(["a"]).decode($0) } == nil)
    }
}

@Suite struct UserKeyTests {
    @Test func shortHexIdsAreCompactAndKeepTheirExactText() {
        for uid in ["a1b2c3d4e5f6a7b8c9d", "0", "00", "000abc", String(repeating: "f", count: 30)] {
            let key = UserKey(uid)
            guard case .hex = key else {
                Issue.record("\(uid) should be compact")
                continue
            }
            #expect(key.uid == uid)
        }
        #expect(UserKey("0") != UserKey("00"))
        #expect(UserKey("ABC") == .other("ABC"))
        #expect(UserKey(String(repeating: "f", count: 31)) == .other(String(repeating: "f", count: 31)))
        #expect(UserKey("user-1").uid == "user-1")
    }
}
