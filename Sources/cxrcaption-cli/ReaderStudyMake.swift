import ArgumentParser
import CXRDecoding
import CXRKit
import CXRMetrics
import Foundation

/// `cxrcaption reader-study make`: picks model and human cases from different studies of a manifest's split,
/// captions the model's, normalises both sides' text alike, shuffles them into one numbered list, and writes
/// the packet (images, cases.json, index.html) and, elsewhere, the key.
struct ReaderStudyMakeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make",
        abstract: "Write a blinded packet of model and human impressions, and its key (kept apart).",
        discussion: """
            The manifest is the one `eval` reads (JSON Lines: "image", "report", "split", optional "id", \
            "study", "view"). Studies of --split are grouped as `eval` groups them; each study is shown with \
            its first frontal (or unknown-view) image. With --seed, the studies are shuffled and the first \
            --model-cases become model cases (the model's top-1 impression for the study's image, decoded \
            with --beam and the decoding options as for `caption`; <nou> is never emitted), the next \
            --human-cases human cases (the study's own report, its first "report" text). No study is on \
            both sides. Both sides' text is normalised alike (capitalisation, punctuation, token joining, \
            whitespace: docs/READER_STUDY.md), the cases are shuffled into one numbered list, and the \
            packet is written to --out: images/case-NNN.png (8-bit gray), cases.json (no origin) and \
            index.html (the scoring page; open it in a browser, no server or network needed). The key \
            (origins, studies, the model's SHA-256, the seed) goes to --key, which must lie outside --out.
            """
    )

    @Option(help: "The model (.safetensors).")
    var model: String

    @Option(help: "The manifest (JSON Lines, as for `eval`).")
    var manifest: String

    @Option(help: "The split to draw studies from.")
    var split: String = "test"

    @Option(help: "Number of cases with the model's impression.")
    var modelCases: Int = 100

    @Option(help: "Number of cases with the report's own impression.")
    var humanCases: Int = 100

    @Option(help: "Seed for picking and ordering the cases (a non-negative integer).")
    var seed: UInt64

    @Option(help: "The packet folder to write (created; must be empty or absent).")
    var out: String

    @Option(help: "Where to write the key (default: <out>-key.json beside the packet; never inside it).")
    var key: String?

    @Option(help: "Beam width for the model's impressions (\(GenerationParameters.beamWidthRange.lowerBound)...\(GenerationParameters.beamWidthRange.upperBound)).")
    var beam: Int = 3

    @OptionGroup var decoding: DecodingOptions

    @OptionGroup var reading: ImageReadingOptions

    @Option(help: "Longest side of a packet image in pixels (larger images are reduced).")
    var maxSide: Int = 2048

    @Option(help: "A title shown on the scoring page.")
    var title: String = "Chest X-ray report reading study"

    @Flag(help: "No progress output.")
    var quiet = false

    func validate() throws {
        guard modelCases >= 1 else { throw ValidationError("--model-cases \(modelCases) must be at least 1") }
        guard humanCases >= 1 else { throw ValidationError("--human-cases \(humanCases) must be at least 1") }
        guard modelCases + humanCases <= 9999 else {
            throw ValidationError("--model-cases + --human-cases = \(modelCases + humanCases) is more than 9999")
        }
        guard maxSide >= 64 else { throw ValidationError("--max-side \(maxSide) must be at least 64") }
    }

    /// The key's path, checked to lie outside the packet folder.
    func keyPath() throws -> String {
        let outURL = URL(fileURLWithPath: out).standardizedFileURL
        let path = key ?? outURL.path + "-key.json"
        let keyURL = URL(fileURLWithPath: path).standardizedFileURL
        let folder = outURL.resolvingSymlinksInPath().path + "/"
        let keyFolder = keyURL.deletingLastPathComponent().resolvingSymlinksInPath().path + "/"
        if keyFolder.hasPrefix(folder) {
            throw ValidationError("--key \(path) is inside the packet folder --out \(out): the key must be kept apart from what readers get")
        }
        return path
    }

    func run() throws {
        let keyFile = try keyPath()
        // Checked before anything is read; the model's recommended settings are added once it is loaded.
        let requested = try decoding.parameters(beamWidth: beam, maxResults: 1, returnAttention: false,
                                                resultsOption: "--beam")

        let entries = try EvalManifest.read(path: manifest, split: split,
                                            tokenizer: ScoringTokenizer(han: .characters))
        let studies = EvalStudy.group(entries)
        let needed = modelCases + humanCases
        guard studies.count >= needed else {
            throw ReaderStudyError("manifest \(manifest) has \(studies.count) studies in split \"\(split)\"; "
                                   + "--model-cases \(modelCases) + --human-cases \(humanCases) need \(needed) different studies")
        }
        // The study's image: its first frontal or unknown-view line, else its first line (the manifest's
        // "view"; a DICOM's own ViewPosition is checked when the image is read).
        func shownEntry(_ study: EvalStudy) -> Int {
            study.entries.first { ViewClass(view: entries[$0].view).isFrontalOrUnknown } ?? study.entries[0]
        }

        // Picking and ordering draw from separate streams of the seed.
        var pick = ReaderStudyRandom(seed: seed, stream: 1)
        var order = Array(studies.indices)
        pick.shuffle(&order)

        // --out must be usable before the model runs; it is created only once every case has its text, so a
        // bad model or image leaves nothing behind.
        try checkFolder()

        struct Draft {
            var origin: String
            var study: String
            var entry: EvalManifestEntry
            var rawText: String
            var text: String
        }
        var drafts: [Draft] = []
        let captionModel = try CaptionModel(contentsOfFile: model)
        // As `caption` decodes: the options given, else the model's recommended settings, else the library's.
        var parameters = try decoding.applyingModelDefaults(to: requested, of: captionModel, resultsOption: "--beam")
        // A "<nou>" would tell a reader the text is the model's.
        parameters.suppressUnknown = true
        let session = try CaptionSession(model: captionModel)
        let progress = ProgressReporter(total: needed, label: "reader-study", style: .automatic(quiet: quiet))
        progress.update(done: 0, failed: 0)
        // Human cases whose report normalises to nothing are replaced by the next study in the order.
        var next = 0
        func takeStudy() throws -> EvalStudy {
            guard next < order.count else {
                throw ReaderStudyError("manifest \(manifest) split \"\(split)\" ran out of studies with a usable report "
                                       + "before \(needed) cases were drawn")
            }
            defer { next += 1 }
            return studies[order[next]]
        }
        for index in 0..<needed {
            let isModel = index < modelCases
            var study = try takeStudy()
            var entry = entries[shownEntry(study)]
            let raw: String
            if isModel {
                let image = try readImage(entry)
                let captions: [Caption]
                do {
                    captions = try image.bytes.withUnsafeBytes {
                        try session.generate(pixels: $0, image: image.descriptor, parameters: parameters)
                    }
                } catch {
                    throw ReaderStudyError("cannot caption \(entry.image) (manifest line \(entry.line), study \"\(study.id)\"): \(error)")
                }
                guard let top = captions.first else {
                    throw ReaderStudyError("the model returned no impression for \(entry.image) (manifest line \(entry.line))")
                }
                raw = top.text
                if ReaderStudyText.normalize(raw).isEmpty {
                    throw ReaderStudyError("the model's impression for \(entry.image) (manifest line \(entry.line)) has no words: \"\(raw)\"")
                }
            } else {
                while ReaderStudyText.normalize(entry.references[0]).isEmpty {
                    study = try takeStudy()
                    entry = entries[shownEntry(study)]
                }
                raw = entry.references[0]
            }
            drafts.append(Draft(origin: isModel ? "model" : "human", study: study.id, entry: entry, rawText: raw,
                                text: ReaderStudyText.normalize(raw)))
            progress.update(done: index + 1, failed: 0)
        }
        progress.finish()

        try prepareFolder()
        do {
            try FileManager.default.createDirectory(atPath: out + "/images", withIntermediateDirectories: true)
        } catch {
            throw ReaderStudyError("cannot create \(out)/images: \(error.localizedDescription)")
        }

        var shuffle = ReaderStudyRandom(seed: seed, stream: 2)
        shuffle.shuffle(&drafts)
        let width = max(3, String(drafts.count).count)
        func caseID(_ number: Int) -> String {
            let digits = String(number)
            return "case-" + String(repeating: "0", count: width - digits.count) + digits
        }

        // Images in case order, all through one conversion (cases.json lists them in that order too).
        var packetCases: [[String: Any]] = []
        for (i, draft) in drafts.enumerated() {
            let id = caseID(i + 1)
            let image = try readImage(draft.entry)
            do {
                try ReaderStudyImage.write(image, maxSide: maxSide, to: "\(out)/images/\(id).png")
            } catch {
                throw ReaderStudyError("cannot write the packet image for \(draft.entry.image) (manifest line \(draft.entry.line)): \(error)")
            }
            packetCases.append(["case": i + 1, "id": id, "image": "images/\(id).png", "report": draft.text])
        }
        let casesBody: [String: Any] = ["format": ReaderStudyFormat.packet, "title": title,
                                        "rubric": ReaderStudyRubric.json, "cases": packetCases]
        // The packet's id: a digest of what readers see, so scores can be matched to their key.
        let packetID = String(SHA256.hex(of: [UInt8](try ReaderStudyJSON.data(casesBody))).prefix(16))
        var packet = casesBody
        packet["packet"] = packetID
        let packetData = try ReaderStudyJSON.data(packet)
        try packetData.write(to: URL(fileURLWithPath: out + "/cases.json"))
        try Data(ReaderStudyPage.html(packetJSON: packetData, title: title).utf8)
            .write(to: URL(fileURLWithPath: out + "/index.html"))

        let keyCases: [[String: Any]] = drafts.enumerated().map { i, draft in
            ["case": i + 1, "id": caseID(i + 1), "origin": draft.origin, "study": draft.study,
             "entry": draft.entry.id, "image": draft.entry.image, "text": draft.text, "source_text": draft.rawText]
        }
        let keyBody: [String: Any] = [
            "format": ReaderStudyFormat.key, "packet": packetID, "seed": seed,
            "model": ["file": URL(fileURLWithPath: model).lastPathComponent, "sha256": try modelHash()],
            "manifest": URL(fileURLWithPath: manifest).lastPathComponent, "split": split,
            "model_cases": modelCases, "human_cases": humanCases,
            "decoding": ["beam": parameters.beamWidth, "max_tokens": parameters.maxTokens,
                         "length_penalty": parameters.lengthPenalty, "suppress_unknown": parameters.suppressUnknown,
                         // Every field, including decoding options added after this command was written.
                         "all": String(describing: parameters)],
            "cases": keyCases,
        ]
        try ReaderStudyJSON.data(keyBody).write(to: URL(fileURLWithPath: keyFile))
        print("packet \(packetID): \(drafts.count) cases (\(modelCases) model, \(humanCases) human) in \(out); open \(out)/index.html")
        print("key: \(keyFile) (keep it from the readers until every score is in)")
    }

    private func modelHash() throws -> String {
        do {
            return try SHA256.hex(ofFile: model)
        } catch {
            throw ReaderStudyError("cannot read --model \(model) to compute its SHA-256: \(error)")
        }
    }

    private func readImage(_ entry: EvalManifestEntry) throws -> DecodedImage {
        do {
            return try ImageFile.read(entry.imagePath, maxPixels: reading.maxPixels)
        } catch {
            throw ReaderStudyError("cannot read image \(entry.image) (manifest line \(entry.line)): \(error)")
        }
    }

    /// --out must be absent or an empty folder: a packet never mixes with an earlier one's files.
    private func checkFolder() throws {
        let fm = FileManager.default
        var isFolder: ObjCBool = false
        guard fm.fileExists(atPath: out, isDirectory: &isFolder) else { return }
        guard isFolder.boolValue else { throw ReaderStudyError("--out \(out) exists and is not a folder") }
        let contents: [String]
        do {
            contents = try fm.contentsOfDirectory(atPath: out)
        } catch {
            throw ReaderStudyError("cannot list --out \(out): \(error.localizedDescription)")
        }
        guard contents.isEmpty else {
            throw ReaderStudyError("--out \(out) is not empty (\(contents.count) entries); choose a new folder")
        }
    }

    private func prepareFolder() throws {
        try checkFolder()
        if !FileManager.default.fileExists(atPath: out) {
            do {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            } catch {
                throw ReaderStudyError("cannot create --out \(out): \(error.localizedDescription)")
            }
        }
    }
}

/// The format names written into the packet, the key and the page's exports.
enum ReaderStudyFormat {
    static let packet = "cxrcaption-reader-study-packet/1"
    static let key = "cxrcaption-reader-study-key/1"
    static let scores = "cxrcaption-reader-study-scores/1"
}

/// The published rubric (the study the issue repeats), criteria written out.
enum ReaderStudyRubric {
    static let levels: [(Int, String)] = [
        (5, "All conditions identified and accurately described."),
        (4, "Major conditions right; minor problems outside the chest missed (e.g. scoliosis, a foreign body)."),
        (3, "Major conditions right; minor problems inside the chest missed (old lesions, fibrous stripes, post-surgery changes, aortic calcification)."),
        (2, "Major conditions identified but described inaccurately."),
        (1, "Major conditions missed or wrong."),
    ]
    static var json: [[String: Any]] { levels.map { ["score": $0.0, "criterion": $0.1] } }
}

/// JSON with sorted keys and unescaped slashes, so equal content gives equal bytes.
enum ReaderStudyJSON {
    static func data(_ value: Any) throws -> Data {
        var data = try JSONSerialization.data(withJSONObject: value,
                                              options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        data.append(0x0A)
        return data
    }
}
