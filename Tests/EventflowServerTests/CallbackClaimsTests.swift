import EventflowCore
import Testing

@testable import EventflowServer

@Suite struct CallbackClaimsTests {
    private let callback = AccountCallback(id: "account", version: 7)

    @Test func aCallbackInFlightCannotBeCancelled() {
        let claims = CallbackClaims()
        #expect(claims.claim(callback))
        #expect(!claims.cancel(callback))
    }

    @Test func aCancelledCallbackIsNeverClaimed() {
        let claims = CallbackClaims()
        #expect(claims.cancel(callback))
        #expect(!claims.claim(callback))
    }

    /// The step read the row as pending, then the dispatcher fired the callback and
    /// recorded it, then the step replaced the version: that callback fired, it was not cancelled.
    @Test func aCallbackSettledAfterTheStepReadItCannotBeCancelled() {
        let claims = CallbackClaims()
        #expect(claims.claim(callback))
        claims.settle(callback)
        #expect(!claims.cancel(callback))
    }

    @Test func aCallbackRetriedFromTheTableCanStillBeCancelled() {
        let claims = CallbackClaims()
        #expect(claims.claim(callback))
        claims.release(callback)
        #expect(claims.cancel(callback))
    }

    @Test func theStepsCommitEndsWhatItsReadsCouldHaveMissed() {
        let claims = CallbackClaims()
        #expect(claims.claim(callback))
        claims.settle(callback)
        claims.stepCommitted(cancelling: [])
        #expect(claims.cancel(callback))
        claims.stepCommitted(cancelling: [callback])
        #expect(claims.claim(callback))
    }
}
