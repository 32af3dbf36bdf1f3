import Testing
import Lookup

/// Inputs an attacker or a broken tool could hand the readers: each must end in a typed
/// `FormatError` (with a position) or a valid result — never a crash. Fuzzing (`scripts/fuzz.sh`)
/// explores further; any crash it finds is added here as a regression case.
@Suite("Hostile input to the readers")
struct HostileInputTests {
  static let cases: [(String, [UInt8])] = [
    ("empty", []),
    ("NUL bytes", [0, 0, 0, 10]),
    ("invalid UTF-8", [0xFF, 0xFE, 0x40, 0x31, 0x2E, 0xC0, 0x80, 10]),
    ("carriage returns", Array("@1.2.3.4/32\t5.6.7.8/32\t0 : 65535\t0 : 65535\t0x06/0xFF\r\n".utf8)),
    ("a one-megabyte line", Array(repeating: 0x41, count: 1 << 20)),
    ("a huge number", Array("@1.2.3.4/32\t5.6.7.8/32\t0 : 99999999999999999999999\t0 : 1\t0x06/0xFF\n".utf8)),
    ("a huge prefix length", Array("@1.2.3.4/4294967296\t5.6.7.8/32\t0 : 1\t0 : 1\t0x06/0xFF\n".utf8)),
    ("octets above 255", Array("@1.2.3.999/32\t5.6.7.8/32\t0 : 1\t0 : 1\t0x06/0xFF\n".utf8)),
    ("a truncated rule", Array("@1.2.3.4/32\t5.6".utf8)),
    ("ten thousand tabs", Array(repeating: 0x09, count: 10_000)),
    ("an ip xfrm header alone", Array("src 10.0.0.0/8 dst 10.0.0.0/8 \n".utf8)),
    ("an ip xfrm sub-line first", Array("\tdir out priority 0 ptype main \n".utf8)),
    ("an ip xfrm state with a 2^40 SPI", Array("src 1.1.1.1 dst 2.2.2.2\n\tproto esp spi 0x10000000000 reqid 1 mode tunnel\n".utf8)),
    ("an empty pfp line", Array("src 10.0.0.0/8 dst 0.0.0.0/0 \n\tdir out priority 0 ptype main \n\tpfp\n".utf8)),
  ]

  @Test(arguments: cases.map(\.0))
  func classBenchRules(name: String) {
    let bytes = Self.cases.first { $0.0 == name }!.1
    do { _ = try ClassBenchFormat.readRules(bytes: bytes, file: name) } catch {
      #expect(error.line >= 1 && error.column >= 1 && !error.description.isEmpty)
    }
  }

  @Test(arguments: cases.map(\.0))
  func classBenchTraces(name: String) {
    let bytes = Self.cases.first { $0.0 == name }!.1
    do { _ = try ClassBenchFormat.readTrace(bytes: bytes, file: name) } catch {
      #expect(error.line >= 1 && error.column >= 1 && !error.description.isEmpty)
    }
  }

  @Test(arguments: cases.map(\.0))
  func ipXfrmDumps(name: String) {
    let bytes = Self.cases.first { $0.0 == name }!.1
    do { _ = try IPXfrmReader.read(String(decoding: bytes, as: UTF8.self), file: name) } catch {
      #expect(error.line >= 1 && error.column >= 1 && !error.description.isEmpty)
    }
  }

  @Test func theseHostileCasesAreRefusedNotAccepted() {
    #expect(throws: FormatError.self) {
      try ClassBenchFormat.readRules(bytes: Self.cases.first { $0.0 == "a huge number" }!.1, file: "x")
    }
    #expect(throws: FormatError.self) {
      try IPXfrmReader.read("src 1.1.1.1 dst 2.2.2.2\n\tproto esp spi 0x10000000000 reqid 1 mode tunnel\n", file: "x")
    }
    #expect(throws: FormatError.self) {
      try IPXfrmReader.read("src 10.0.0.0/8 dst 0.0.0.0/0 \n\tdir out priority 0 ptype main \n\tpfp\n", file: "x")
    }
  }
}
