import EventflowCore
import Testing

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
