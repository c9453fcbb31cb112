// libFuzzer's entry point for IngestParserFuzzTarget; scripts/fuzz.sh compiles it with the Core sources.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIngestParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    IngestParserFuzzTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
