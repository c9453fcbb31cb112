public import Foundation

/// One valid event for each default stream, with a unique id, for checks that need
/// "one event per stream". The domain (`<id>.example`) and the log's service (`<id>`)
/// derive from the id too, so each event's processor output can be found again.
public enum SampleEvents {
    public static func event(stream: String, id: String, now: Date = Date()) -> String? {
        let seconds = Int(now.timeIntervalSince1970)
        switch stream {
        case "events": return #"{"id":"\#(id)","name":"smoke","timestamp":\#(seconds),"body":{"check":"smoke"}}"#
        case "frames": return #"{"id":"\#(id)","uid":"\#(userID(id))","ts":\#(seconds)}"#
        case "accounts": return #"{"id":"\#(id)","accountType":"smoke","tokens":1,"callbackTimeMs":0,"version":1,"data":{}}"#
        case "domains": return #"{"id":"\#(id)","domain":"\#(id).example","type":"delivered"}"#
        case "logs": return #"{"id":"\#(id)","service_name":"\#(id)","payload":"hello","severity":"info","timestamp":\#(seconds)}"#
        default: return nil
        }
    }

    /// A 19-character hex user id derived from `seed`, like the frames workload's.
    public static func userID(_ seed: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in seed.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(hash, radix: 16) + String(hash >> 7, radix: 16)
        return String(hex.padding(toLength: 19, withPad: "0", startingAt: 0))
    }

    public static let streams = ["events", "frames", "accounts", "domains", "logs"]
}
