import CXRImageIO
import Foundation

/// Draws the heat-map panels of one caption and the overview sheet that collects them.
///
/// A panel is, top to bottom: a label strip ("<position> <token>  peak <max attention in %>", white text in
/// the built-in bitmap font at 2x), the image in its original geometry (`HeatmapGeometry`: aspect kept,
/// longest side `--heatmap-size`; the image through the model's own intake at that size, so it looks as
/// the model saw it) with one token's attention map stretched over it as intake stretched the image to the
/// square input (`HeatmapOverlay`: bilinear between cell centres, turbo colours), and a colour bar from 0 to
/// the attention that the hottest colour stands for. That top is the map's own peak (`--heatmap-scale
/// token`) or the largest weight of all drawn maps (`shared`, so colours compare across panels). The peak
/// tells a focused map (peak 60%) from a flat one (an 8x8 map that attends evenly peaks at 1.6%).
struct HeatmapSheet {
    let geometry: HeatmapGeometry
    /// G: the attention maps are G x G.
    let gridSize: Int
    var overlay = HeatmapOverlay()

    static let background = RGB(24, 24, 24)
    static let text = RGB.white
    static let dimText = RGB(170, 170, 170)
    static let noteText = RGB(255, 150, 90)
    static let textScale = 2
    static let padding = 6
    static let gap = 4
    /// Panels are at least this wide (the image centred) so that labels and the colour bar fit.
    static let minimumPanelWidth = 224

    /// Height of a panel's label strip and of its colour-bar strip.
    static var stripHeight: Int { BitmapFont.height(scale: textScale) + 2 * padding }
    var panelWidth: Int { max(geometry.displayWidth, Self.minimumPanelWidth) }
    var panelHeight: Int { geometry.displayHeight + 2 * Self.stripHeight }
    /// Where the image lies in a panel.
    var imageX: Int { (panelWidth - geometry.displayWidth) / 2 }
    var imageY: Int { Self.stripHeight }

    /// One panel: `label` in the top strip, the display image with `grid` (normalized to 0...1, where 1
    /// stands for the attention weight `top`) over it and a colour bar 0...top below; or the bare image
    /// and `footer` when `grid` is nil.
    func panel(display: [UInt8], grid: [Float]?, top: Float, label: String, footer: String = "") -> RGBCanvas {
        let (width, height) = (geometry.displayWidth, geometry.displayHeight)
        let image = grid.map { overlay.render(gray: display, width: width, height: height, grid: $0, gridSize: gridSize) }
            ?? RGBCanvas(gray: display, width: width, height: height)
        var canvas = RGBCanvas(width: panelWidth, height: panelHeight, color: Self.background)
        canvas.paste(image, x: imageX, y: imageY)
        let scale = Self.textScale, padding = Self.padding
        let fitted = Self.fit(label, width: panelWidth - 2 * padding, scale: scale)
        BitmapFont.draw(fitted, on: &canvas, x: padding, y: padding, scale: scale, color: Self.text)
        let barY = imageY + height + padding
        if grid != nil {
            let low = "0%", high = Self.percent(top)
            let lowWidth = BitmapFont.width(of: low, scale: scale), highWidth = BitmapFont.width(of: high, scale: scale)
            let barX = padding + lowWidth + padding
            let barWidth = panelWidth - barX - highWidth - 2 * padding
            BitmapFont.draw(low, on: &canvas, x: padding, y: barY, scale: scale, color: Self.dimText)
            if barWidth > 0 {
                canvas.paste(overlay.colourBar(width: barWidth, height: BitmapFont.height(scale: scale) - scale),
                             x: barX, y: barY)
            }
            BitmapFont.draw(high, on: &canvas, x: panelWidth - padding - highWidth, y: barY, scale: scale,
                            color: Self.dimText)
        } else if !footer.isEmpty {
            BitmapFont.draw(Self.fit(footer, width: panelWidth - 2 * padding, scale: scale), on: &canvas,
                            x: padding, y: barY, scale: scale, color: Self.dimText)
        }
        return canvas
    }

    /// An attention weight as a percentage: "12%", or "1.6%" below 10%.
    static func percent(_ weight: Float) -> String {
        let value = 100 * Double(weight)
        return value >= 9.95 ? String(format: "%.0f%%", value) : String(format: "%.1f%%", value)
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
        let percent = Self.percent(peak)
        return Self.fit("\(position) \(shown)  peak \(percent)", "\(position) \(shown) \(percent)",
                        "\(position) \(shown)", width: panelWidth - 2 * Self.padding, scale: Self.textScale)
    }

    /// Columns for `count` panels so that the grid of panels is about as wide as it is tall.
    func columns(for count: Int) -> Int {
        let ratio = Double(panelHeight) / Double(panelWidth)
        return max(1, min(count, Int((Double(count) * ratio).squareRoot().rounded(.up))))
    }

    /// A header of wrapped lines (title, subtitle, the sentence, notes) above a grid of panels (first the bare
    /// image, then one per drawn token).
    func overview(title: String, subtitle: String, sentence: String, notes: [String], panels: [RGBCanvas]) -> RGBCanvas {
        let columns = columns(for: panels.count)
        let rows = (panels.count + columns - 1) / columns
        let width = columns * panelWidth + (columns + 1) * Self.gap
        let textWidth = width - 2 * Self.padding
        let scale = Self.textScale
        let lineHeight = BitmapFont.height(scale: scale) + 2 * scale
        var blocks: [([String], RGB)] = [
            (BitmapFont.wrap(title, width: textWidth, scale: scale), Self.text),
            (BitmapFont.wrap(subtitle, width: textWidth, scale: scale), Self.dimText),
            ([""], Self.text),
            (BitmapFont.wrap(sentence.isEmpty ? "(empty caption)" : sentence, width: textWidth, scale: scale),
             RGB(255, 214, 90)),
        ]
        for note in notes { blocks.append((BitmapFont.wrap(note, width: textWidth, scale: scale), Self.noteText)) }
        let lineCount = blocks.reduce(0) { $0 + $1.0.count }
        let headerHeight = Self.padding * 2 + lineHeight * lineCount
        let height = headerHeight + rows * panelHeight + (rows + 1) * Self.gap
        var canvas = RGBCanvas(width: width, height: height, color: Self.background)
        var y = Self.padding
        for (lines, color) in blocks {
            for line in lines {
                BitmapFont.draw(line, on: &canvas, x: Self.padding, y: y, scale: scale, color: color)
                y += lineHeight
            }
        }
        for (index, panel) in panels.enumerated() {
            let (row, column) = index.quotientAndRemainder(dividingBy: columns)
            canvas.paste(panel, x: Self.gap + column * (panelWidth + Self.gap),
                         y: headerHeight + Self.gap + row * (panelHeight + Self.gap))
        }
        return canvas
    }
}
