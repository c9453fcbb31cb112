// libFuzzer's entry point for TextParsersFuzzTarget; scripts/fuzz.sh compiles it with the Core sources.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTextParsers(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    TextParsersFuzzTarget.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
