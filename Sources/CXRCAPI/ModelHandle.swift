import CCXRCAPI
import CXRKit
import CXRSupport
import Glibc

/// What a `cxr_model *` points to: the Swift model plus the C strings handed out for it (label names, token
/// strings, metadata values), allocated once at load so that handing them out needs no lock. Immutable.
final class ModelHandle {
    let model: CaptionModel
    let labels: [UnsafeMutablePointer<CChar>]
    let tokens: [UnsafeMutablePointer<CChar>]
    /// `__metadata__` values by key (the first entry of a key, as `CaptionModel.metadata(_:)` has it).
    let metadata: [String: UnsafeMutablePointer<CChar>]

    init(_ model: CaptionModel) throws {
        self.model = model
        self.labels = try model.labels.map(Self.cString)
        self.tokens = try model.vocabulary.tokens.map(Self.cString)
        var metadata: [String: UnsafeMutablePointer<CChar>] = [:]
        for entry in model.metadataEntries where metadata[entry.key] == nil {
            metadata[entry.key] = try Self.cString(entry.value)
        }
        self.metadata = metadata
    }

    deinit {
        labels.forEach { free($0) }
        tokens.forEach { free($0) }
        metadata.values.forEach { free($0) }
    }

    private static func cString(_ string: String) throws -> UnsafeMutablePointer<CChar> {
        guard let copy = strdup(string) else { throw CXRError(.outOfMemory, "out of memory copying \"\(string)\"") }
        return copy
    }

    var info: cxr_model_info {
        let config = model.config
        var info = Defaults.modelInfo
        info.format_version = Int32(Self.formatNumber(model.formatVersion))
        info.vocab_size = Int32(clamping: model.vocabulary.count)
        info.input_size = Int32(clamping: config.inputSize)
        info.input_channels = Int32(clamping: config.inChannels)
        info.has_findings_head = model.hasFindingsHead ? 1 : 0
        info.label_count = Int32(clamping: model.labels.count)
        info.join_rule = Int32(model.vocabulary.join == .concatenate
            ? CXR_JOIN_CONCATENATE.rawValue : CXR_JOIN_SPACE_SEPARATED.rawValue)
        info.attention_grid = Int32(clamping: config.gridSize)
        info.region_count = Int32(clamping: config.regionCount)
        info.preprocessing_version = Int32(clamping: config.preprocessing)
        info.unknown_token_id = Int32(clamping: model.vocabulary.unknownID)
        return info
    }

    /// N of "cxrcaption/N" (0 if the string has another shape, which loading does not accept).
    static func formatNumber(_ format: String) -> Int {
        guard let slash = format.lastIndex(of: "/") else { return 0 }
        return Int(format[format.index(after: slash)...]) ?? 0
    }

    // MARK: Handles

    var opaque: OpaquePointer { OpaquePointer(Unmanaged.passRetained(self).toOpaque()) }

    /// The handle behind a caller's `cxr_model *`; throws when it is NULL.
    static func from(_ pointer: OpaquePointer?, _ name: StaticString = "model") throws -> ModelHandle {
        let pointer = try required(pointer, name)
        return Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    }

    static func release(_ pointer: OpaquePointer?) {
        guard let pointer else { return }
        Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(pointer)).release()
    }
}
