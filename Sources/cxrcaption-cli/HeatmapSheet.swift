import CXRImageIO
import Foundation

/// Draws the heat-map panels of one caption and the overview sheet that collects them.
///
/// A panel is a label strip (dark, white text in the built-in bitmap font at 2x) above the image the model saw, enlarged by a whole
/// factor to at least 256 pixels (nearest neighbour: the model's pixels stay visible), with one token's
/// attention map drawn over it (`HeatmapOverlay`: bilinear between cell centres, each map divided by its own
/// maximum, turbo colors). The label is "<position> <token>  peak <max attention in %>": the peak tells a
/// focused map (peak 60%) from a flat one (an 8x8 map that attends evenly peaks at 1.6%), which the
/// per-map normalization hides.
struct HeatmapSheet {
    /// Side of the image the model saw.
    let inputSize: Int
    /// G: the attention maps are G x G.
    let gridSize: Int
    var overlay = HeatmapOverlay()

    static let background = RGB(24, 24, 24)
    static let text = RGB.white
    static let dimText = RGB(170, 170, 170)
    static let textScale = 2
    static let padding = 6
    static let gap = 4

    /// Whole enlargement factor so panels are at least 256 pixels wide.
    var factor: Int { max(1, 256 / inputSize) }
    /// Side of a panel's image.
    var side: Int { inputSize * factor }
    /// Height of a panel's label strip.
    static var stripHeight: Int { BitmapFont.height(scale: textScale) + 2 * padding }

    /// One panel: `label` in the strip, `grid` (already normalized to 0...1) over the image, or the bare image
    /// when `grid` is nil.
    func panel(equalized: [UInt8], grid: [Float]?, label: String) -> RGBCanvas {
        let enlarged = HeatmapOverlay.enlarge(equalized, side: inputSize, factor: factor)
        let image = grid.map { overlay.render(gray: enlarged, side: side, grid: $0, gridSize: gridSize) }
            ?? RGBCanvas(gray: enlarged, width: side, height: side)
        var canvas = RGBCanvas(width: side, height: side + Self.stripHeight, color: Self.background)
        canvas.paste(image, x: 0, y: Self.stripHeight)
        let fitted = Self.fit(label, width: side - 2 * Self.padding, scale: Self.textScale)
        BitmapFont.draw(fitted, on: &canvas, x: Self.padding, y: Self.padding, scale: Self.textScale,
                        color: Self.text)
        return canvas
    }

    /// The first of `candidates` that fits the width, else the last one cut short with "~".
    static func fit(_ candidates: String..., width: Int, scale: Int) -> String {
        for candidate in candidates where BitmapFont.width(of: candidate, scale: scale) <= width {
            return candidate
        }
        let last = candidates.last ?? ""
        let room = max(1, (width + scale) / BitmapFont.advance(scale: scale))
        return last.count <= room ? last : String(last.prefix(room - 1)) + "~"
    }

    /// The label of a token panel, shortened to fit.
    func tokenLabel(position: Int, token: String, id: Int, peak: Float) -> String {
        let shown = BitmapFont.canDraw(token) ? token : "[id \(id)]"
        let percent = String(format: "%.0f%%", 100 * peak)
        return Self.fit("\(position) \(shown)  peak \(percent)", "\(position) \(shown) \(percent)",
                        "\(position) \(shown)", width: side - 2 * Self.padding, scale: Self.textScale)
    }

    /// A header of wrapped lines above a grid of panels (first the bare image, then one per token).
    func overview(title: String, subtitle: String, sentence: String, panels: [RGBCanvas]) -> RGBCanvas {
        let panelHeight = side + Self.stripHeight
        let columns = max(1, min(panels.count, Int(Double(panels.count).squareRoot().rounded(.up))))
        let rows = (panels.count + columns - 1) / columns
        let width = columns * side + (columns + 1) * Self.gap
        let textWidth = width - 2 * Self.padding
        let scale = Self.textScale
        let lineHeight = BitmapFont.height(scale: scale) + 2 * scale
        let titleLines = BitmapFont.wrap(title, width: textWidth, scale: scale)
        let subtitleLines = BitmapFont.wrap(subtitle, width: textWidth, scale: scale)
        let sentenceLines = BitmapFont.wrap(sentence.isEmpty ? "(empty caption)" : sentence,
                                            width: textWidth, scale: scale)
        let headerHeight = Self.padding * 2 + lineHeight * (titleLines.count + subtitleLines.count
            + sentenceLines.count) + lineHeight / 2
        let height = headerHeight + rows * panelHeight + (rows + 1) * Self.gap
        var canvas = RGBCanvas(width: width, height: height, color: Self.background)
        var y = Self.padding
        for (lines, color) in [(titleLines, Self.text), (subtitleLines, Self.dimText)] {
            for line in lines {
                BitmapFont.draw(line, on: &canvas, x: Self.padding, y: y, scale: scale, color: color)
                y += lineHeight
            }
        }
        y += lineHeight / 2
        for line in sentenceLines {
            BitmapFont.draw(line, on: &canvas, x: Self.padding, y: y, scale: scale, color: RGB(255, 214, 90))
            y += lineHeight
        }
        for (index, panel) in panels.enumerated() {
            let (row, column) = index.quotientAndRemainder(dividingBy: columns)
            canvas.paste(panel, x: Self.gap + column * (side + Self.gap),
                         y: headerHeight + Self.gap + row * (panelHeight + Self.gap))
        }
        return canvas
    }
}
