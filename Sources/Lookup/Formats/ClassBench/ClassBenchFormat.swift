import Foundation

/// Reads and writes ClassBench rule files and header traces (`Data/classbench/FORMAT.md`).
///
/// Rule line: `@SRC/LEN TAB DST/LEN TAB LO : HI TAB LO : HI TAB 0xPP/0xMM TAB 0xVVVV/0xMMMM TAB`.
/// Trace line: seven tab-separated unsigned integers. The readers accept any run of spaces or
/// tabs between fields, and optional spaces around the port-range colon; everything else
/// that deviates is a `FormatError` with the line and column. Empty lines are accepted only
/// at the end of a file (a blank line inside would shift every later rule's number).
public enum ClassBenchFormat {
  // MARK: Rules

  /// Parses a rule file's text.
  public static func readRules(_ text: String, file: String = "<rules>") throws(FormatError) -> ClassBenchRuleSet {
    try readRules(bytes: Array(text.utf8), file: file)
  }

  /// Reads a rule file from disk.
  public static func readRules(path: String) throws -> ClassBenchRuleSet {
    try readRules(bytes: try InputFile.bytes(path), file: path)
  }

  public static func readRules(bytes: [UInt8], file: String) throws(FormatError) -> ClassBenchRuleSet {
    var rules: [ClassBenchRule] = []
    rules.reserveCapacity(bytes.count / 60)
    try forEachLine(bytes, file: file, expected: "a rule starting with '@'") { (scanner: inout LineScanner) throws(FormatError) in
      rules.append(try parseRule(&scanner))
    }
    return ClassBenchRuleSet(rules: rules)
  }

  static func parseRule(_ s: inout LineScanner) throws(FormatError) -> ClassBenchRule {
    try s.expect(0x40, "'@' at the start of a rule")
    let source = try ipv4Prefix(&s, "the source prefix (a.b.c.d/len)")
    try s.expectSpaces("a tab before the destination prefix")
    let destination = try ipv4Prefix(&s, "the destination prefix (a.b.c.d/len)")
    try s.expectSpaces("a tab before the source port range")
    let sourcePorts = try portRange(&s, "source")
    try s.expectSpaces("a tab before the destination port range")
    let destinationPorts = try portRange(&s, "destination")
    try s.expectSpaces("a tab before the protocol")
    let protoColumn = s.column
    let protoValue = try s.hex(max: 0xFF, "a protocol value 0x00...0xFF")
    try s.expect(0x2F, "'/' and a protocol mask")
    let protoMask = try s.hex(max: 0xFF, "a protocol mask 0x00 or 0xFF")
    guard protoMask == 0xFF || (protoMask == 0 && protoValue == 0) else {
      throw s.error(expected: "protocol 0xPP/0xFF or 0x00/0x00", at: protoColumn)
    }
    try s.expectSpaces("a tab before the flags field")
    let flagsValue = try s.hex(max: 0xFFFF, "a flags value 0x0000...0xFFFF")
    try s.expect(0x2F, "'/' and a flags mask")
    let flagsMask = try s.hex(max: 0xFFFF, "a flags mask 0x0000...0xFFFF")
    try s.expectEnd("the end of the rule after the flags field")
    return ClassBenchRule(source: source, destination: destination, sourcePorts: sourcePorts,
                          destinationPorts: destinationPorts, protocolValue: UInt8(protoValue),
                          protocolMask: UInt8(protoMask), flagsValue: UInt16(flagsValue), flagsMask: UInt16(flagsMask))
  }

  private static func ipv4Prefix(_ s: inout LineScanner, _ what: String) throws(FormatError) -> AddressPrefix {
    let column = s.column
    let prefix = try s.prefix()
    guard prefix.family == .ipv4 else { throw s.error(expected: what, at: column) }
    return prefix
  }

  private static func portRange(_ s: inout LineScanner, _ which: String) throws(FormatError) -> ClosedRange<UInt16> {
    let column = s.column
    let low = try s.decimal(max: 65535, "the \(which) port range's low end (0...65535)")
    s.skipSpaces()
    try s.expect(0x3A, "':' between the \(which) port range's ends")
    s.skipSpaces()
    let high = try s.decimal(max: 65535, "the \(which) port range's high end (0...65535)")
    guard low <= high else { throw s.error(expected: "a \(which) port range with low <= high", at: column) }
    return UInt16(low)...UInt16(high)
  }

  /// The text of a rule file: one line per rule, in priority order.
  public static func write(_ rules: ClassBenchRuleSet) -> String {
    var text = ""
    text.reserveCapacity(rules.rules.count * 80)
    for rule in rules.rules {
      text += "@\(rule.source)\t\(rule.destination)\t"
      text += "\(rule.sourcePorts.lowerBound) : \(rule.sourcePorts.upperBound)\t"
      text += "\(rule.destinationPorts.lowerBound) : \(rule.destinationPorts.upperBound)\t"
      text += "0x\(hex(UInt64(rule.protocolValue), digits: 2))/0x\(hex(UInt64(rule.protocolMask), digits: 2))\t"
      text += "0x\(hex(UInt64(rule.flagsValue), digits: 4))/0x\(hex(UInt64(rule.flagsMask), digits: 4))\t\n"
    }
    return text
  }

  // MARK: Traces

  public static func readTrace(_ text: String, file: String = "<trace>") throws(FormatError) -> [ClassBenchHeader] {
    try readTrace(bytes: Array(text.utf8), file: file)
  }

  public static func readTrace(path: String) throws -> [ClassBenchHeader] {
    try readTrace(bytes: try InputFile.bytes(path), file: path)
  }

  public static func readTrace(bytes: [UInt8], file: String) throws(FormatError) -> [ClassBenchHeader] {
    var headers: [ClassBenchHeader] = []
    headers.reserveCapacity(bytes.count / 40)
    try forEachLine(bytes, file: file, expected: "a header line") { (s: inout LineScanner) throws(FormatError) in
      s.skipSpaces()
      let source = try s.decimal(max: UInt64(UInt32.max), "the source address (0...4294967295)")
      try s.expectSpaces("a tab before the destination address")
      let destination = try s.decimal(max: UInt64(UInt32.max), "the destination address (0...4294967295)")
      try s.expectSpaces("a tab before the source port")
      let sourcePort = try s.decimal(max: 65535, "the source port (0...65535)")
      try s.expectSpaces("a tab before the destination port")
      let destinationPort = try s.decimal(max: 65535, "the destination port (0...65535)")
      try s.expectSpaces("a tab before the protocol")
      let proto = try s.decimal(max: 255, "the protocol (0...255)")
      try s.expectSpaces("a tab before the sixth column")
      let column6 = try s.decimal(max: UInt64(UInt32.max), "the sixth column (0...4294967295)")
      try s.expectSpaces("a tab before the rule index")
      let rule = try s.decimal(max: UInt64(Int32.max), "the generating rule's index")
      try s.expectEnd("the end of the header after the rule index")
      headers.append(ClassBenchHeader(source: UInt32(source), destination: UInt32(destination),
                                      sourcePort: UInt16(sourcePort), destinationPort: UInt16(destinationPort),
                                      proto: UInt8(proto), column6: UInt32(column6), generatingRule: Int(rule)))
    }
    return headers
  }

  public static func write(_ headers: [ClassBenchHeader]) -> String {
    var text = ""
    text.reserveCapacity(headers.count * 48)
    for h in headers {
      text += "\(h.source)\t\(h.destination)\t\(h.sourcePort)\t\(h.destinationPort)\t\(h.proto)\t\(h.column6)\t\(h.generatingRule)\n"
    }
    return text
  }

  // MARK: Helpers

  /// Calls `body` with a scanner for every line; blank lines are allowed only at the end (a
  /// blank line inside would shift every later line's number, and line numbers are meaning).
  static func forEachLine(_ bytes: [UInt8], file: String, expected: String,
                          _ body: (inout LineScanner) throws(FormatError) -> Void) throws(FormatError) {
    var blankLine: Int?
    for (number, line) in TextLines(bytes) {
      if line.allSatisfy(LineScanner.isSpace) {
        blankLine = blankLine ?? number
        continue
      }
      if let blank = blankLine {
        throw FormatError(file: file, line: blank, column: 1, expected: expected, found: "an empty line")
      }
      var scanner = LineScanner(file: file, lineNumber: number, bytes: line)
      try body(&scanner)
    }
  }

  static func hex(_ value: UInt64, digits: Int) -> String {
    let text = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
  }
}

