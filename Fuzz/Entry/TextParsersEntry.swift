// libFuzzer's entry point for TextParsersFuzzTarget; scripts/fuzz.sh links it with the target and an instrumented EventflowCore.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTextParsers(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    TextParsersFuzzTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
