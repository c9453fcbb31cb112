import NIOCore
import NIOPosix

/// A plain TCP connection to a server under test, for clients no HTTP library would be:
/// one that idles, trickles its headers, or keeps sending a body after the answer.
public struct RawConnection: Sendable {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

    public static func open(host: String = "127.0.0.1", port: Int) async throws -> RawConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return RawConnection(channel: channel)
    }

    /// What the server sent, and after how long it closed (or reset) the connection (nil: it
    /// was still open after `limit`). Writes `chunks` one by one, `pause` apart, while reading.
    public func exchange(
        writing chunks: [String] = [], pause: Duration = .zero, limit: Duration
    ) async throws -> (received: String, closedAfter: Duration?) {
        let started = ContinuousClock.now
        return try await channel.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: (String, Duration?)?.self) { group in
                group.addTask {
                    // A reset (the server closing with bytes of ours unread) is a close too.
                    var received = ""
                    do {
                        for try await buffer in inbound { received += String(buffer: buffer) }
                    } catch {}
                    return (received, ContinuousClock.now - started)
                }
                group.addTask {
                    for chunk in chunks {
                        do {
                            try await outbound.write(ByteBuffer(string: chunk))
                        } catch {
                            break
                        }
                        if pause > .zero { try await Task.sleep(for: pause) }
                    }
                    try await Task.sleep(until: started + limit)
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                if let first { return first }
                return ("", nil)
            }
        }
    }
}
