import EventflowCore
import Testing

@Suite struct DeliveryOutcomeTests {
    @Test func classifiesStatuses() {
        #expect(DeliveryOutcome(status: 200, retryAfter: nil) == .delivered)
        #expect(DeliveryOutcome(status: 204, retryAfter: nil) == .delivered)
        #expect(DeliveryOutcome(status: 429, retryAfter: 2) == .throttled(retryAfter: 2))
        // Retried: a 5xx, and a 4xx that a fix on the target's side can change (say, credentials).
        #expect(DeliveryOutcome(status: 503, retryAfter: 1) == .failed(status: 503, retryAfter: 1))
        #expect(DeliveryOutcome(status: 401, retryAfter: nil) == .failed(status: 401, retryAfter: nil))
        for status in [400, 404, 409, 410, 422] {
            #expect(DeliveryOutcome(status: status, retryAfter: nil) == .rejected(status: status))
        }
        #expect(DeliveryOutcome.unsendable(reason: "bad header").metricLabel == "dead_letter")
    }
}
