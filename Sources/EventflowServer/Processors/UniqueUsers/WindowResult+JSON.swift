import EventflowCore

extension WindowResult {
    /// The result as served and published: `{"start", "end", "users", "frames", "late_dropped", "final"}`,
    /// with the window size first when `withWindow`.
    func json(withWindow: Bool = false) -> String {
        let window = withWindow ? #""window":"\#(UniqueUsersConfiguration.windowText(windowSeconds))","# : ""
        return #"{\#(window)"start":\#(start),"end":\#(end),"users":\#(users),"frames":\#(frames),"late_dropped":\#(lateDropped),"final":\#(final)}"#
    }
}
