import EventflowCore
import Testing

@Suite struct DeliveryOutcomeTests {
    @Test func classifiesStatuses() {
        #expect(DeliveryOutcome(status: 200, retryAfter: nil) == .delivered)
        #expect(DeliveryOutcome(status: 204, retryAfter: nil) == .delivered)
        #expect(DeliveryOutcome(status: 429, retryAfter: 2) == .throttled(retryAfter: 2))
        #expect(DeliveryOutcome(status: 503, retryAfter: nil).isRetryable)
        #expect(DeliveryOutcome(status: 401, retryAfter: nil).isRetryable)
        for status in [400, 404, 409, 410, 422] {
            #expect(DeliveryOutcome(status: status, retryAfter: nil) == .rejected(status: status))
        }
        #expect(!DeliveryOutcome.unsendable(reason: "bad header").isRetryable)
        #expect(DeliveryOutcome.unsendable(reason: "bad header").metricLabel == "dead_letter")
    }
}
