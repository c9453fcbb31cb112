import EventflowCore
import Testing

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
