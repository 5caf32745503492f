import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Progress of a long run on standard error: a bar redrawn in place when stderr is a terminal, otherwise a
/// plain line now and then (every 5% of the work or every 30 seconds, whichever comes first), or nothing.
final class ProgressReporter {
    enum Style {
        case bar, lines, quiet

        /// `.bar` when standard error is a terminal, else `.lines`; `.quiet` when asked.
        static func automatic(quiet: Bool) -> Style {
            quiet ? .quiet : (isatty(2) != 0 ? .bar : .lines)
        }
    }

    let total: Int
    let style: Style
    private let label: String
    private let start = Date()
    private var lastLineTime = Date()
    private var lastLineCount = 0
    private var barShown = false

    init(total: Int, label: String, style: Style) {
        self.total = total
        self.label = label
        self.style = style
    }

    /// Seconds since the reporter was made.
    var elapsed: Double { Date().timeIntervalSince(start) }

    /// Reports that `done` of `total` items are finished, `failed` of them with an error.
    func update(done: Int, failed: Int) {
        switch style {
        case .quiet:
            return
        case .bar:
            write("\r" + barLine(done: done, failed: failed) + "\u{1B}[K")
            barShown = true
        case .lines:
            let step = max(1, total / 20)
            let now = Date()
            guard done == total || done - lastLineCount >= step || now.timeIntervalSince(lastLineTime) >= 30
            else { return }
            lastLineCount = done
            lastLineTime = now
            write(plainLine(done: done, failed: failed) + "\n")
        }
    }

    /// Prints a message (e.g. an image's error) without tearing the bar.
    func message(_ text: String) {
        if style == .bar && barShown {
            write("\r\u{1B}[K" + text + "\n")
            barShown = false
        } else {
            write(text + "\n")
        }
    }

    /// Erases the bar so other output (e.g. on standard output, the same terminal) can be printed; the next
    /// `update` draws it again.
    func clearBar() {
        if style == .bar && barShown {
            write("\r\u{1B}[K")
            barShown = false
        }
    }

    /// Ends the bar's line.
    func finish() {
        if style == .bar && barShown {
            write("\n")
            barShown = false
        }
    }

    private func barLine(done: Int, failed: Int) -> String {
        let width = 30
        let filled = total > 0 ? min(width, done * width / total) : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        var line = "\(label) [\(bar)] \(done)/\(total)"
        line += rateAndETA(done: done)
        if failed > 0 { line += "  failed \(failed)" }
        return line
    }

    private func plainLine(done: Int, failed: Int) -> String {
        let percent = total > 0 ? done * 100 / total : 100
        return "\(label): \(done)/\(total) images (\(percent)%)" + rateAndETA(done: done) + ", failed \(failed)"
    }

    private func rateAndETA(done: Int) -> String {
        guard done > 0 else { return "" }
        let seconds = elapsed
        let perItem = seconds / Double(done)
        let remaining = perItem * Double(total - done)
        return String(format: "  %.2f s/image  elapsed %@  ETA %@", perItem,
                      Self.clock(seconds), Self.clock(remaining))
    }

    /// "m:ss" or "h:mm:ss".
    static func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        let (h, m, s) = (whole / 3600, whole / 60 % 60, whole % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
