import CXRImageIO

/// The distributions side by side, as the published Fig. 6: one panel per reader (and all readers), bars
/// for the share of each score 1...5, model and human next to each other.
enum ReaderStudyFigure {
    static let modelColor = RGB(230, 126, 34)
    static let humanColor = RGB(52, 110, 200)
    static let ink = RGB(30, 30, 30)
    static let grid = RGB(220, 220, 220)

    static func draw(_ analysis: ReaderStudyAnalysis) -> PNGImage {
        let panels = Array(Set(analysis.groups.map(\.reader))).sorted {
            ($0 == ReaderStudyAnalysis.allReaders ? 1 : 0, $0) < ($1 == ReaderStudyAnalysis.allReaders ? 1 : 0, $1)
        }
        let panelWidth = 420, panelHeight = 320, margin = 50, top = 60
        let width = panels.count * panelWidth + margin, height = panelHeight + top + 36
        var canvas = RGBCanvas(width: width, height: height, color: .white)
        BitmapFont.draw("Reader study scores: model vs human (share of cases per score)", on: &canvas, x: margin, y: 12, scale: 2, color: ink)
        // Legend.
        canvas.fill(x: margin, y: 36, width: 14, height: 14, color: modelColor)
        BitmapFont.draw("model", on: &canvas, x: margin + 20, y: 39, scale: 1, color: ink)
        canvas.fill(x: margin + 80, y: 36, width: 14, height: 14, color: humanColor)
        BitmapFont.draw("human", on: &canvas, x: margin + 100, y: 39, scale: 1, color: ink)

        for (p, reader) in panels.enumerated() {
            let x0 = margin + p * panelWidth, plotWidth = panelWidth - 40
            let y0 = top + 20, plotHeight = panelHeight - 40
            BitmapFont.draw(BitmapFont.canDraw(reader) ? reader : "reader \(p + 1)", on: &canvas, x: x0, y: top, scale: 2, color: ink)
            // Grid at 0, 25, 50, 75, 100%.
            for tick in 0...4 {
                let y = y0 + plotHeight - plotHeight * tick / 4
                canvas.fill(x: x0, y: y, width: plotWidth, height: 1, color: grid)
                if p == 0 { BitmapFont.draw("\(tick * 25)%", on: &canvas, x: x0 - 40, y: y - 4, scale: 1, color: ink) }
            }
            let slot = plotWidth / 5
            for (o, origin) in ReaderStudyAnalysis.origins.enumerated() {
                guard let group = analysis.groups.first(where: { $0.reader == reader && $0.origin == origin }) else { continue }
                let total = max(group.distribution.reduce(0, +), 1)
                for score in 0..<5 {
                    let share = Double(group.distribution[score]) / Double(total)
                    let barHeight = Int((share * Double(plotHeight)).rounded())
                    let bx = x0 + score * slot + slot / 2 - 26 + o * 26
                    canvas.fill(x: bx, y: y0 + plotHeight - barHeight, width: 24, height: barHeight,
                                color: origin == "model" ? modelColor : humanColor)
                    if group.distribution[score] > 0 {
                        let label = "\(Int((share * 100).rounded()))"
                        BitmapFont.draw(label, on: &canvas, x: bx + 12 - BitmapFont.width(of: label, scale: 1) / 2,
                                        y: y0 + plotHeight - barHeight - 10, scale: 1, color: ink)
                    }
                }
            }
            canvas.fill(x: x0, y: y0 + plotHeight, width: plotWidth, height: 2, color: ink)
            for score in 0..<5 {
                BitmapFont.draw("\(score + 1)", on: &canvas, x: x0 + score * slot + slot / 2 - 5, y: y0 + plotHeight + 8, scale: 2, color: ink)
            }
            BitmapFont.draw("score", on: &canvas, x: x0 + plotWidth / 2 - 15, y: y0 + plotHeight + 30, scale: 1, color: ink)
        }
        return PNGImage(width: width, height: height, channels: 3, samples8: canvas.pixels)
    }
}
