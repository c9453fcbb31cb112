import EventflowCore
import Testing

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
