import CCXRCAPI
import CXRKit

// cxr_model_*: loading, freeing and describing models.

@_cdecl("cxr_model_load")
public func exportedModelLoad(_ path: UnsafePointer<CChar>?,
                              _ outModel: UnsafeMutablePointer<OpaquePointer?>?) -> cxr_status {
    reportingStatus {
        let outModel = try required(outModel, "out_model")
        outModel.pointee = nil
        let path = String(cString: try required(path, "path"))
        outModel.pointee = try ModelHandle(CaptionModel(contentsOfFile: path)).opaque
    }
}

@_cdecl("cxr_model_load_from_memory")
public func exportedModelLoadFromMemory(_ data: UnsafeRawPointer?, _ size: Int,
                                        _ outModel: UnsafeMutablePointer<OpaquePointer?>?) -> cxr_status {
    reportingStatus {
        let outModel = try required(outModel, "out_model")
        outModel.pointee = nil
        let data = try required(data, "data")
        guard size >= 0 else { throw CAPIFailure.invalidArgument("size \(UInt(bitPattern: size)) is too large") }
        let bytes = UnsafeRawBufferPointer(start: data, count: size)
        outModel.pointee = try ModelHandle(CaptionModel(bytes: bytes)).opaque
    }
}

@_cdecl("cxr_model_free")
public func exportedModelFree(_ model: OpaquePointer?) {
    ModelHandle.release(model)
}

@_cdecl("cxr_model_info_init")
public func exportedModelInfoInit(_ info: UnsafeMutablePointer<cxr_model_info>?, _ structSize: UInt32) -> cxr_status {
    reportingStatus {
        try VersionedStruct.write(Defaults.modelInfo, to: required(info, "info"), size: structSize,
                                  "cxr_model_info")
    }
}

@_cdecl("cxr_model_info")
public func exportedModelInfo(_ model: OpaquePointer?, _ info: UnsafeMutablePointer<cxr_model_info>?) -> cxr_status {
    reportingStatus {
        let model = try ModelHandle.from(model)
        let info = try required(info, "info")
        // Only the first field is read: an older caller's struct may be smaller than cxr_model_info.
        let size = UnsafeRawPointer(info).load(as: UInt32.self)
        try VersionedStruct.write(model.info, to: info, size: size, "cxr_model_info")
    }
}

@_cdecl("cxr_model_label")
public func exportedModelLabel(_ model: OpaquePointer?, _ index: Int32,
                               _ outName: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> cxr_status {
    reportingStatus {
        let model = try ModelHandle.from(model)
        let outName = try required(outName, "out_name")
        guard index >= 0, Int(index) < model.labels.count else {
            throw CAPIFailure.outOfRange("label index \(index) is outside 0..<\(model.labels.count) (the label count)")
        }
        outName.pointee = UnsafePointer(model.labels[Int(index)])
    }
}

@_cdecl("cxr_model_metadata")
public func exportedModelMetadata(_ model: OpaquePointer?, _ key: UnsafePointer<CChar>?,
                                  _ outValue: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> cxr_status {
    reportingStatus {
        let model = try ModelHandle.from(model)
        let outValue = try required(outValue, "out_value")
        let key = String(cString: try required(key, "key"))
        outValue.pointee = model.metadata[key].map { UnsafePointer($0) }
    }
}

@_cdecl("cxr_model_token")
public func exportedModelToken(_ model: OpaquePointer?, _ tokenID: Int32,
                               _ outToken: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> cxr_status {
    reportingStatus {
        let model = try ModelHandle.from(model)
        let outToken = try required(outToken, "out_token")
        guard tokenID >= 0, Int(tokenID) < model.tokens.count else {
            throw CAPIFailure.outOfRange("token id \(tokenID) is outside 0..<\(model.tokens.count) (the vocabulary size)")
        }
        outToken.pointee = UnsafePointer(model.tokens[Int(tokenID)])
    }
}
