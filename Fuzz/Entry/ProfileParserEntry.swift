// libFuzzer's entry point for ProfileParserFuzzTarget; scripts/fuzz.sh links it with the target and an instrumented EventflowCore.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProfileParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    ProfileParserFuzzTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
