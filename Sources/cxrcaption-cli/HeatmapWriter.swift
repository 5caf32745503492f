import CXRImageIO
import CXRIntake
import CXRDecoding
import CXRKit
import CXRModel
import CXRSupport
import Foundation

/// `caption --heatmaps DIR`: for each image's top caption, writes into DIR/<image stem>/
///   - one PNG per drawn token (`01_the.png`, `02_heart.png`, ...; see `HeatmapSheet` for what they show):
///     tokens up to the first loop, at most `--heatmap-panels` (`HeatmapPanelPlan`),
///   - `overview.png`: the sentence, what was not drawn and why, then the bare image and every token panel,
///   - `attention.json`: the raw maps of every token (grid G, region r = y * G + x; "file" null for a token
///     without a panel), the geometry and the scale.
/// Previous token panels in that folder (names "<digits>_*.png") are removed first so a rerun leaves no
/// stale ones. Two images with the same stem get "<stem>", "<stem>-2", ...
struct HeatmapWriter {
    let directory: String
    let vocabulary: Vocabulary
    let inputSize: Int
    let gridSize: Int
    let options: HeatmapOptions
    private var usedFolders: Set<String> = []

    init(directory: String, model: CaptionModel, options: HeatmapOptions) throws {
        self.directory = directory
        vocabulary = model.vocabulary
        inputSize = model.config.inputSize
        gridSize = model.config.gridSize
        self.options = options
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Writes the files for `caption` of `image`, read from `imagePath`; returns the folder written and the
    /// overview sheet (for a DICOM Secondary Capture of it).
    mutating func write(imagePath: String, image: DecodedImage, caption: Caption) throws
        -> (folder: String, overview: RGBCanvas) {
        let regions = gridSize * gridSize
        guard caption.attention.count == caption.tokens.count * regions else {
            throw CXRError(.invalidArgument, "caption has \(caption.attention.count) attention weights for "
                                           + "\(caption.tokens.count) tokens of \(regions) regions")
        }
        let geometry = HeatmapGeometry(imageWidth: image.descriptor.width, imageHeight: image.descriptor.height,
                                       longestSide: options.size)
        let sheet = HeatmapSheet(geometry: geometry, gridSize: gridSize)
        // The image through the model's intake at the display's longest side, stretched back to its aspect.
        let side = max(geometry.displayWidth, geometry.displayHeight)
        let square = try image.bytes.withUnsafeBytes {
            try ImageIntake.equalizedImage(pixels: $0, descriptor: image.descriptor, size: side)
        }
        let display = HeatmapGeometry.resample(square, width: side, height: side, toWidth: geometry.displayWidth,
                                               toHeight: geometry.displayHeight)
        let plan = HeatmapPanelPlan(tokens: caption.tokens, truncated: caption.truncated, limit: options.panels)
        let maps = (0..<caption.tokens.count).map { Array(caption.attention[($0 * regions)..<(($0 + 1) * regions)]) }
        let sharedTop = maps.prefix(plan.drawn).map(HeatmapOverlay.peak).max() ?? 0

        let folder = try makeFolder(for: imagePath)
        let digits = max(2, String(plan.drawn).count)
        var panels = [sheet.panel(display: display, grid: nil, top: 0,
                                  label: "image \(geometry.imageWidth)x\(geometry.imageHeight)",
                                  footer: "grid \(gridSize)x\(gridSize)")]
        var entries: [TokenEntry] = []
        for (index, id) in caption.tokens.enumerated() {
            let token = id >= 0 && id < vocabulary.count ? vocabulary.tokens[id] : "?"
            var file: String? = nil
            if index < plan.drawn {
                let peak = HeatmapOverlay.peak(maps[index])
                let top = options.scale == .shared ? sharedTop : peak
                let label = sheet.tokenLabel(position: index + 1, token: token, id: id, peak: peak)
                let panel = sheet.panel(display: display, grid: HeatmapOverlay.normalized(maps[index], by: top),
                                        top: top, label: label)
                let name = HeatmapFileNames.tokenFile(position: index + 1, digits: digits, token: token, id: id)
                try panel.pngImage.write(to: (folder as NSString).appendingPathComponent(name))
                panels.append(panel)
                file = name
            }
            entries.append(TokenEntry(position: index + 1, id: id, token: token, file: file, attention: maps[index]))
        }
        let scaleWords = options.scale == .shared
            ? "one colour scale for all maps (0...\(HeatmapSheet.percent(sharedTop)))"
            : "each map's colours run to its own peak"
        let subtitle = String(format: "top result: p=%.4g (log p %.3f), %d tokens%@; grid %dx%d over the %dx%d image; %@",
                              exp(caption.logProbability), caption.logProbability, caption.tokens.count,
                              caption.truncated ? ", truncated" : "", gridSize, gridSize, geometry.imageWidth,
                              geometry.imageHeight, scaleWords)
        var sentence = caption.text
        if !BitmapFont.canDraw(sentence) { sentence += "  (boxes: characters the built-in font lacks)" }
        let overview = sheet.overview(title: (imagePath as NSString).lastPathComponent, subtitle: subtitle,
                                      sentence: sentence, notes: plan.notes, panels: panels)
        try overview.pngImage.write(to: (folder as NSString).appendingPathComponent("overview.png"))
        let record = AttentionRecord(
            image: imagePath, text: caption.text, grid: gridSize, inputSize: inputSize,
            imageWidth: geometry.imageWidth, imageHeight: geometry.imageHeight,
            panelWidth: sheet.panelWidth, panelHeight: sheet.panelHeight,
            panelImage: PanelImage(x: sheet.imageX, y: sheet.imageY, width: geometry.displayWidth,
                                   height: geometry.displayHeight),
            scale: options.scale.rawValue, sharedTop: options.scale == .shared ? sharedTop : nil,
            drawn: plan.drawn, loop: plan.loop.map { LoopRecord(start: $0.start + 1, period: $0.period) },
            notes: plan.notes, tokens: entries)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(record).write(to: URL(fileURLWithPath: (folder as NSString)
            .appendingPathComponent("attention.json")))
        return (folder, overview)
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

/// attention.json: the maps behind the pictures, and where they are drawn.
struct AttentionRecord: Encodable {
    var image: String
    var text: String
    var grid: Int
    var inputSize: Int
    /// The original image's sides; the grid covers all of it (cell x: columns [x W/G, (x+1) W/G)).
    var imageWidth: Int
    var imageHeight: Int
    var panelWidth: Int
    var panelHeight: Int
    /// Where in a panel the image (and the heat over it) lies.
    var panelImage: PanelImage
    /// "token" (each map to its own peak) or "shared" (all to `shared_top`).
    var scale: String
    var sharedTop: Float?
    /// Tokens 1...drawn have panels.
    var drawn: Int
    var loop: LoopRecord?
    var notes: [String]
    var tokens: [TokenEntry]

    enum CodingKeys: String, CodingKey {
        case image, text, grid, inputSize = "input_size", imageWidth = "image_width", imageHeight = "image_height"
        case panelWidth = "panel_width", panelHeight = "panel_height", panelImage = "panel_image", scale
        case sharedTop = "shared_top", drawn, loop, notes, tokens
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(image, forKey: .image)
        try container.encode(text, forKey: .text)
        try container.encode(grid, forKey: .grid)
        try container.encode(inputSize, forKey: .inputSize)
        try container.encode(imageWidth, forKey: .imageWidth)
        try container.encode(imageHeight, forKey: .imageHeight)
        try container.encode(panelWidth, forKey: .panelWidth)
        try container.encode(panelHeight, forKey: .panelHeight)
        try container.encode(panelImage, forKey: .panelImage)
        try container.encode(scale, forKey: .scale)
        try container.encode(sharedTop, forKey: .sharedTop)  // null with the per-token scale
        try container.encode(drawn, forKey: .drawn)
        try container.encode(loop, forKey: .loop)  // null when the caption does not loop
        try container.encode(notes, forKey: .notes)
        try container.encode(tokens, forKey: .tokens)
    }
}

/// The rectangle of a panel that shows the image, in panel pixels.
struct PanelImage: Encodable {
    var x: Int
    var y: Int
    var width: Int
    var height: Int
}

/// A loop: from token `start` (1-based) the caption repeats the `period` tokens before it.
struct LoopRecord: Encodable {
    var start: Int
    var period: Int
}

/// One token of attention.json: its position in the sentence (1-based), vocabulary id, string, panel file
/// (null when the token has no panel) and raw G*G attention weights (region r = y * G + x).
struct TokenEntry: Encodable {
    var position: Int
    var id: Int
    var token: String
    var file: String?
    var attention: [Float]

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(position, forKey: .position)
        try container.encode(id, forKey: .id)
        try container.encode(token, forKey: .token)
        try container.encode(file, forKey: .file)
        try container.encode(attention, forKey: .attention)
    }

    enum CodingKeys: String, CodingKey { case position, id, token, file, attention }
}
