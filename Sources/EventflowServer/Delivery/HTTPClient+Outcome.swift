import AsyncHTTPClient
import EventflowCore
import NIOCore

extension HTTPClient {
    /// POSTs a JSON body and classifies what came of it for the retry rules (timeouts and
    /// broken connections included); also returns the first 512 bytes of the answer.
    func postJSON(_ url: String, body: ByteBuffer, headers: [(String, String)] = [], timeout: Duration) async -> (DeliveryOutcome, String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(body)
        do {
            let response = try await execute(request, timeout: .nanoseconds(timeout.nanoseconds))
            var excerpt = ""
            for try await chunk in response.body where excerpt.utf8.count < 512 {
                excerpt += String(buffer: chunk)
            }
            let retryAfter = DeliveryOutcome.retryAfterSeconds(response.headers.first(name: "Retry-After"))
            return (DeliveryOutcome(status: Int(response.status.code), retryAfter: retryAfter), String(excerpt.prefix(512)))
        } catch let error as HTTPClientError where [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout].contains(error) {
            return (.timedOut, "")
        } catch {
            return (.connectionFailed, "")
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
