import CCXRCAPI

// cxr_result_*: read-only access to the session's last results.

/// Shared shape of the accessors: check the session, the index and the output pointer, then write one value.
@inline(__always)
private func readResult<T>(_ session: OpaquePointer?, _ index: Int32, _ out: UnsafeMutablePointer<T>?,
                           _ outName: StaticString, _ value: (StoredResult) -> T) -> cxr_status {
    reportingStatus {
        let session = try SessionHandle.from(session)
        let out = try required(out, outName)
        out.pointee = value(try session.result(index))
    }
}

@_cdecl("cxr_result_count")
public func exportedResultCount(_ session: OpaquePointer?, _ outCount: UnsafeMutablePointer<Int32>?) -> cxr_status {
    reportingStatus {
        let session = try SessionHandle.from(session)
        let outCount = try required(outCount, "out_count")
        outCount.pointee = Int32(session.results.count)
    }
}

@_cdecl("cxr_result_text")
public func exportedResultText(_ session: OpaquePointer?, _ index: Int32,
                               _ outText: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> cxr_status {
    readResult(session, index, outText, "out_text") { UnsafePointer($0.text) }
}

@_cdecl("cxr_result_log_prob")
public func exportedResultLogProb(_ session: OpaquePointer?, _ index: Int32,
                                  _ outLogProb: UnsafeMutablePointer<Double>?) -> cxr_status {
    readResult(session, index, outLogProb, "out_log_prob") { $0.logProbability }
}

@_cdecl("cxr_result_score")
public func exportedResultScore(_ session: OpaquePointer?, _ index: Int32,
                                _ outScore: UnsafeMutablePointer<Double>?) -> cxr_status {
    readResult(session, index, outScore, "out_score") { $0.score }
}

@_cdecl("cxr_result_truncated")
public func exportedResultTruncated(_ session: OpaquePointer?, _ index: Int32,
                                    _ outTruncated: UnsafeMutablePointer<Int32>?) -> cxr_status {
    readResult(session, index, outTruncated, "out_truncated") { $0.truncated ? 1 : 0 }
}

@_cdecl("cxr_result_distinct")
public func exportedResultDistinct(_ session: OpaquePointer?, _ outDistinct: UnsafeMutablePointer<Int32>?) -> cxr_status {
    reportingStatus {
        let session = try SessionHandle.from(session)
        let outDistinct = try required(outDistinct, "out_distinct")
        outDistinct.pointee = session.distinct ? 1 : 0
    }
}

@_cdecl("cxr_result_token_count")
public func exportedResultTokenCount(_ session: OpaquePointer?, _ index: Int32,
                                     _ outCount: UnsafeMutablePointer<Int32>?) -> cxr_status {
    readResult(session, index, outCount, "out_count") { Int32($0.tokens.count) }
}

@_cdecl("cxr_result_tokens")
public func exportedResultTokens(_ session: OpaquePointer?, _ index: Int32,
                                 _ outTokens: UnsafeMutablePointer<UnsafePointer<Int32>?>?) -> cxr_status {
    readResult(session, index, outTokens, "out_tokens") {
        $0.tokens.isEmpty ? nil : UnsafePointer($0.tokens.baseAddress)
    }
}

@_cdecl("cxr_result_attention")
public func exportedResultAttention(_ session: OpaquePointer?, _ index: Int32,
                                    _ outAttention: UnsafeMutablePointer<UnsafePointer<Float>?>?) -> cxr_status {
    readResult(session, index, outAttention, "out_attention") {
        $0.attention.isEmpty ? nil : UnsafePointer($0.attention.baseAddress)
    }
}
