import ArgumentParser
import CXRImageIO

/// How the heat maps of `caption --heatmaps` are drawn.
struct HeatmapOptions: ParsableArguments {
    /// What the hottest colour of a panel stands for.
    enum Scale: String, ExpressibleByArgument, CaseIterable {
        /// Each map's own peak: every panel uses the whole colour range (shape of each map).
        case token
        /// The largest weight of all drawn maps: colours compare across panels (where attention is strong).
        case shared
    }

    @Option(help: ArgumentHelp("With --heatmaps: 'token' scales each map's colours to its own peak, 'shared' "
                               + "gives all maps of an image one scale, so colours compare across panels.",
                               valueName: "token|shared"))
    var heatmapScale: Scale = .token

    @Option(help: ArgumentHelp("With --heatmaps: at most this many token panels per image "
                + "(\(HeatmapPanelPlan.limitRange.lowerBound)...\(HeatmapPanelPlan.limitRange.upperBound)); "
                + "panels also stop where the caption starts to repeat itself."))
    var heatmapPanels: Int = 24

    @Option(help: ArgumentHelp("With --heatmaps: the longest side of a panel's image in pixels "
                + "(\(HeatmapGeometry.longestSideRange.lowerBound)...\(HeatmapGeometry.longestSideRange.upperBound)); "
                + "the image keeps its aspect."))
    var heatmapSize: Int = 320

    func validate() throws {
        guard HeatmapPanelPlan.limitRange.contains(heatmapPanels) else {
            throw ValidationError("--heatmap-panels \(heatmapPanels) is outside "
                                  + "\(HeatmapPanelPlan.limitRange.lowerBound)...\(HeatmapPanelPlan.limitRange.upperBound)")
        }
        guard HeatmapGeometry.longestSideRange.contains(heatmapSize) else {
            throw ValidationError("--heatmap-size \(heatmapSize) is outside "
                                  + "\(HeatmapGeometry.longestSideRange.lowerBound)...\(HeatmapGeometry.longestSideRange.upperBound)")
        }
    }
}
