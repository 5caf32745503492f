import CCXRCAPI

// Struct initializers, sessions, and the calls that run the model.

@_cdecl("cxr_image_init")
public func exportedImageInit(_ image: UnsafeMutablePointer<cxr_image>?, _ structSize: UInt32) -> cxr_status {
    reportingStatus {
        try VersionedStruct.write(Defaults.image, to: required(image, "image"), size: structSize, "cxr_image")
    }
}

@_cdecl("cxr_generate_params_init")
public func exportedGenerateParamsInit(_ params: UnsafeMutablePointer<cxr_generate_params>?,
                                       _ structSize: UInt32) -> cxr_status {
    reportingStatus {
        try VersionedStruct.write(Defaults.generateParams, to: required(params, "params"), size: structSize,
                                  "cxr_generate_params")
    }
}

@_cdecl("cxr_session_create")
public func exportedSessionCreate(_ model: OpaquePointer?,
                                  _ outSession: UnsafeMutablePointer<OpaquePointer?>?) -> cxr_status {
    reportingStatus {
        let outSession = try required(outSession, "out_session")
        outSession.pointee = nil
        let model = try ModelHandle.from(model)
        outSession.pointee = try SessionHandle(model: model).opaque
    }
}

@_cdecl("cxr_session_free")
public func exportedSessionFree(_ session: OpaquePointer?) {
    SessionHandle.release(session)
}

@_cdecl("cxr_generate")
public func exportedGenerate(_ session: OpaquePointer?, _ image: UnsafePointer<cxr_image>?,
                             _ params: UnsafePointer<cxr_generate_params>?) -> cxr_status {
    reportingStatus {
        let session = try SessionHandle.from(session)
        session.clearResults()  // also when the arguments are rejected: a failed call leaves no results
        let image = try CallerImage(image)
        try session.generate(image, try CallerParameters(params))
    }
}

@_cdecl("cxr_preprocess")
public func exportedPreprocess(_ session: OpaquePointer?, _ image: UnsafePointer<cxr_image>?,
                               _ outPixels: UnsafeMutablePointer<UInt8>?, _ outSize: Int) -> cxr_status {
    reportingStatus {
        let session = try SessionHandle.from(session)
        let image = try CallerImage(image)
        let outPixels = try required(outPixels, "out_pixels")
        let side = session.model.model.config.inputSize
        let needed = side * side
        guard UInt(bitPattern: outSize) >= UInt(needed) else {
            throw CAPIFailure.invalidArgument(
                "out_size \(UInt(bitPattern: outSize)) is less than input_size \(side) x \(side) = \(needed) bytes")
        }
        let pixels = try session.session.preprocess(pixels: image.pixels, image: image.descriptor)
        guard pixels.count == needed else {
            throw CAPIFailure.internalError("preprocess returned \(pixels.count) bytes, not \(needed)")
        }
        pixels.withUnsafeBufferPointer { outPixels.update(from: $0.baseAddress!, count: needed) }
    }
}

@_cdecl("cxr_findings")
public func exportedFindings(_ session: OpaquePointer?, _ image: UnsafePointer<cxr_image>?,
                             _ params: UnsafePointer<cxr_generate_params>?,
                             _ outProbabilities: UnsafeMutablePointer<Float>?, _ outCount: Int) -> cxr_status {
    reportingStatus {
        let session = try SessionHandle.from(session)
        let image = try CallerImage(image)
        let params = try CallerParameters(params)
        let outProbabilities = try required(outProbabilities, "out_probabilities")
        let labels = session.model.model.labels.count
        guard labels > 0 else {
            throw CAPIFailure.invalidArgument("the model has no findings head (no labels)")
        }
        guard UInt(bitPattern: outCount) >= UInt(labels) else {
            throw CAPIFailure.invalidArgument(
                "out_count \(UInt(bitPattern: outCount)) is less than the label count \(labels)")
        }
        let probabilities = try session.session.findings(pixels: image.pixels, image: image.descriptor,
                                                         threads: params.parameters.threads,
                                                         shouldAbort: params.shouldAbort)
        guard probabilities.count == labels else {
            throw CAPIFailure.internalError("findings returned \(probabilities.count) values for \(labels) labels")
        }
        probabilities.withUnsafeBufferPointer { outProbabilities.update(from: $0.baseAddress!, count: labels) }
    }
}
