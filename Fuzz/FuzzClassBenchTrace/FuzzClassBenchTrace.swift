import FuzzSupport
import Glibc
import Lookup

// Fuzzes the ClassBench trace reader: no crash, and what it accepts survives a write/read
// round trip unchanged.

// The executable's entry: libFuzzer's driver, or corpus replay without the fuzzer runtime.
exit(fuzz_main(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzOneInput(data, size) })

func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  guard let headers = try? ClassBenchFormat.readTrace(bytes: bytes, file: "fuzz") else { return 0 }
  let written = ClassBenchFormat.write(headers)
  guard let again = try? ClassBenchFormat.readTrace(written, file: "rewritten") else {
    fatalError("the writer produced text its own reader refuses:\n\(written)")
  }
  precondition(again == headers, "a write/read round trip changed the trace")
  return 0
}
