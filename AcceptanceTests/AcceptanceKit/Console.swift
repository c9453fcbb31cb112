@preconcurrency import Glibc

/// The terminal or log the suite's binaries print to.
public enum Console {
    /// Makes `print` write each line at once also into a pipe or a file (a CI log), where it
    /// would otherwise wait for a full buffer, so that a long run shows its progress. Call it
    /// first, before anything is printed.
    public static func printLineByLine() {
        setvbuf(stdout, nil, _IOLBF, 0)
    }
}
