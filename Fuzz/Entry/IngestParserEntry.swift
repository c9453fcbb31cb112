// libFuzzer's entry point for IngestParserFuzzTarget; scripts/fuzz.sh links it with the target and an instrumented EventflowCore.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIngestParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    IngestParserFuzzTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
