import EventflowCore
import Testing

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
