import ArgumentParser
import CXRImageIO

/// How the heat maps of `caption --heatmaps` are drawn. Each option is nil when not given (so that one given
/// without --heatmaps is an error, not silently ignored); the `effective` values apply the defaults.
struct HeatmapOptions: ParsableArguments {
    /// What the hottest colour of a panel stands for.
    enum Scale: String, ExpressibleByArgument, CaseIterable {
        /// Each map's own peak: every panel uses the whole colour range (shape of each map).
        case token
        /// The largest weight of all drawn maps: colours compare across panels (where attention is strong).
        case shared
    }

    static let defaultPanels = 24
    static let defaultSize = 320

    @Option(help: ArgumentHelp("With --heatmaps: 'token' (the default) scales each map's colours to its own "
                               + "peak, 'shared' gives all maps of an image one scale, so colours compare "
                               + "across panels.", valueName: "token|shared"))
    var heatmapScale: Scale?

    @Option(help: ArgumentHelp("With --heatmaps: at most this many token panels per image "
                + "(\(HeatmapPanelPlan.limitRange.lowerBound)...\(HeatmapPanelPlan.limitRange.upperBound), "
                + "default \(defaultPanels)); panels also stop where the caption starts to repeat itself."))
    var heatmapPanels: Int?

    @Option(help: ArgumentHelp("With --heatmaps: the longest side of a panel's image in pixels "
                + "(\(HeatmapGeometry.longestSideRange.lowerBound)...\(HeatmapGeometry.longestSideRange.upperBound), "
                + "default \(defaultSize)); the image keeps its aspect."))
    var heatmapSize: Int?

    var scale: Scale { heatmapScale ?? .token }
    var panels: Int { heatmapPanels ?? Self.defaultPanels }
    var size: Int { heatmapSize ?? Self.defaultSize }

    /// The options given on the command line, by name.
    var given: [String] {
        [heatmapScale.map { _ in "--heatmap-scale" }, heatmapPanels.map { _ in "--heatmap-panels" },
         heatmapSize.map { _ in "--heatmap-size" }].compactMap { $0 }
    }

    func validate() throws {
        guard HeatmapPanelPlan.limitRange.contains(panels) else {
            throw ValidationError("--heatmap-panels \(panels) is outside "
                                  + "\(HeatmapPanelPlan.limitRange.lowerBound)...\(HeatmapPanelPlan.limitRange.upperBound)")
        }
        guard HeatmapGeometry.longestSideRange.contains(size) else {
            throw ValidationError("--heatmap-size \(size) is outside "
                                  + "\(HeatmapGeometry.longestSideRange.lowerBound)...\(HeatmapGeometry.longestSideRange.upperBound)")
        }
    }
}
