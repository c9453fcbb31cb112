import AcceptanceKit
import EventflowTesting
import Testing

@Suite struct ThresholdTests {
    @Test func parsesAndEvaluates() throws {
        #expect(try #require(Threshold("== 0")).passes(0))
        #expect(try #require(Threshold("== 0")).passes(1) == false)
        #expect(try #require(Threshold("< 50")).passes(49.9))
        #expect(try #require(Threshold("<50")).passes(50) == false)
        #expect(try #require(Threshold(">= 0.99")).passes(0.99))
        #expect(try #require(Threshold("<= 60")).passes(60))
        #expect(try #require(Threshold("> 0")).passes(0) == false)
        #expect(try #require(Threshold("!= 3")).passes(4))
        #expect(Threshold("about 5") == nil)
        #expect(Threshold("< fifty") == nil)
        #expect(Threshold(">= 0.99")?.description == ">= 0.99")
        #expect(Threshold("== 0")?.description == "== 0")
    }

    @Test func thresholdsNeedAFiniteBound() {
        for text in ["== nan", "< inf", "<= -inf", ">= 1e400", "== ", "≈ 3"] {
            #expect(Threshold(text) == nil, "\(text)")
        }
        #expect(Threshold("< 50")?.passes(49) == true)
        for text in hostileTexts(count: 20_000, seed: 13) {
            if let threshold = Threshold(text) { #expect(threshold.bound.isFinite, "\(text)") }
        }
    }
}
