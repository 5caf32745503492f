import CXRImageIO
import CXRDecoding
import CXRKit
import CXRModel
import CXRSupport
import Foundation

/// `caption --heatmaps DIR`: for each image's top caption, writes into DIR/<image stem>/
///   - one PNG per emitted token (`01_the.png`, `02_heart.png`, ...; see `HeatmapSheet` for what they show),
///   - `overview.png`: the sentence at the top, then the bare image and every token panel in a grid,
///   - `attention.json`: the raw maps (grid G, region r = y * G + x) and which file shows which token.
/// Previous token panels in that folder (names "<digits>_*.png") are removed first so a rerun leaves no
/// stale ones. Two images with the same stem get "<stem>", "<stem>-2", ...
struct HeatmapWriter {
    let directory: String
    let vocabulary: Vocabulary
    let sheet: HeatmapSheet
    private var usedFolders: Set<String> = []

    init(directory: String, model: CaptionModel) throws {
        self.directory = directory
        vocabulary = model.vocabulary
        sheet = HeatmapSheet(inputSize: model.config.inputSize, gridSize: model.config.gridSize)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Writes the files for `caption` of the image at `imagePath`; returns the folder written.
    mutating func write(imagePath: String, equalized: [UInt8], caption: Caption) throws -> String {
        let regions = sheet.gridSize * sheet.gridSize
        guard caption.attention.count == caption.tokens.count * regions else {
            throw CXRError(.invalidArgument, "caption has \(caption.attention.count) attention weights for "
                                           + "\(caption.tokens.count) tokens of \(regions) regions")
        }
        let folder = try makeFolder(for: imagePath)
        let digits = max(2, String(caption.tokens.count).count)
        var panels = [sheet.panel(equalized: equalized, grid: nil, label: "model input")]
        var entries: [TokenEntry] = []
        for (index, id) in caption.tokens.enumerated() {
            let token = id >= 0 && id < vocabulary.count ? vocabulary.tokens[id] : "?"
            let map = Array(caption.attention[(index * regions)..<((index + 1) * regions)])
            let peak = map.max() ?? 0
            let label = sheet.tokenLabel(position: index + 1, token: token, id: id, peak: peak)
            let panel = sheet.panel(equalized: equalized, grid: HeatmapOverlay.normalizedByMaximum(map),
                                    label: label)
            let file = HeatmapFileNames.tokenFile(position: index + 1, digits: digits, token: token, id: id)
            try panel.pngImage.write(to: (folder as NSString).appendingPathComponent(file))
            panels.append(panel)
            entries.append(TokenEntry(position: index + 1, id: id, token: token, file: file, attention: map))
        }
        let subtitle = String(format: "top result: p=%.4g (log p %.3f), %d tokens%@; grid %dx%d, each map / its max",
                              exp(caption.logProbability), caption.logProbability, caption.tokens.count,
                              caption.truncated ? ", truncated" : "", sheet.gridSize, sheet.gridSize)
        var sentence = caption.text
        if !BitmapFont.canDraw(sentence) { sentence += "  (boxes: characters the built-in font lacks)" }
        let overview = sheet.overview(title: (imagePath as NSString).lastPathComponent, subtitle: subtitle,
                                      sentence: sentence, panels: panels)
        try overview.pngImage.write(to: (folder as NSString).appendingPathComponent("overview.png"))
        let record = AttentionRecord(image: imagePath, text: caption.text, grid: sheet.gridSize,
                                     inputSize: sheet.inputSize, panelSide: sheet.side,
                                     normalization: "each map divided by its maximum", tokens: entries)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(record).write(to: URL(fileURLWithPath: (folder as NSString)
            .appendingPathComponent("attention.json")))
        return folder
    }

    /// DIR/<stem> (or <stem>-2, ... when taken in this run), created, with old token panels removed.
    private mutating func makeFolder(for imagePath: String) throws -> String {
        let stem = HeatmapFileNames.imageStem(imagePath)
        var name = stem
        var suffix = 2
        while usedFolders.contains(name) {
            name = "\(stem)-\(suffix)"
            suffix += 1
        }
        usedFolders.insert(name)
        let folder = (directory as NSString).appendingPathComponent(name)
        let files = FileManager.default
        try files.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for old in try files.contentsOfDirectory(atPath: folder) where HeatmapFileNames.isTokenFile(old) {
            try files.removeItem(atPath: (folder as NSString).appendingPathComponent(old))
        }
        return folder
    }
}

/// attention.json: the maps behind the pictures.
struct AttentionRecord: Encodable {
    var image: String
    var text: String
    var grid: Int
    var inputSize: Int
    var panelSide: Int
    var normalization: String
    var tokens: [TokenEntry]

    enum CodingKeys: String, CodingKey {
        case image, text, grid, inputSize = "input_size", panelSide = "panel_side", normalization, tokens
    }
}

/// One token of attention.json: its position in the sentence (1-based), vocabulary id, string, panel file
/// and raw G*G attention weights (region r = y * G + x).
struct TokenEntry: Encodable {
    var position: Int
    var id: Int
    var token: String
    var file: String
    var attention: [Float]
}
