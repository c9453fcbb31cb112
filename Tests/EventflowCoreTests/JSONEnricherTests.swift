import EventflowCore
import Testing

@Suite struct JSONEnricherTests {
    func enrich(_ text: String, _ fields: [String: String]) -> String {
        var output: [UInt8] = []
        Array(text.utf8).withUnsafeBytes { JSONEnricher(strings: fields).enrich($0, into: &output) }
        return String(decoding: output, as: UTF8.self)
    }

    @Test func addsFieldsAfterTheOpeningBrace() {
        #expect(enrich(#"{"id":"e1","n":1}"#, ["brand": "testBrand"]) == #"{"brand":"testBrand","id":"e1","n":1}"#)
        #expect(enrich(#"{}"#, ["brand": "testBrand"]) == #"{"brand":"testBrand"}"#)
        #expect(enrich(#"{ "id":"e1"}"#, ["brand": "b", "env": "prod"]) == #"{"brand":"b","env":"prod","id":"e1"}"#)
    }

    @Test func replacesTopLevelFieldsOfTheSameNameOnly() {
        let enriched = enrich(#"{"brand":"old","id":"e1","nested":{"brand":"keep"},"s":"x\"y"}"#, ["brand": "new"])
        #expect(enriched == #"{"brand":"new","id":"e1","nested":{"brand":"keep"},"s":"x\"y"}"#)
    }

    @Test func leavesEventsAloneWithoutFields() {
        #expect(enrich(#"{"id":"e1"}"#, [:]) == #"{"id":"e1"}"#)
    }

    @Test func escapesConfiguredValues() {
        #expect(enrich(#"{"id":"e"}"#, ["note": "a\"b"]) == #"{"note":"a\"b","id":"e"}"#)
    }
}
