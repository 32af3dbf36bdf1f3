/// A cursor over one line of input bytes, with the position kept for error messages.
///
/// Readers split a file into lines (`TextLines`) and scan each with a `LineScanner`; every
/// `expect…`/`parse…` method either consumes what it names or throws a `FormatError` at the
/// current column naming what it expected.
public struct LineScanner {
  public let file: String
  public let lineNumber: Int
  @usableFromInline internal let _bytes: ArraySlice<UInt8>
  public private(set) var position: Int

  public init(file: String, lineNumber: Int, bytes: ArraySlice<UInt8>) {
    self.file = file
    self.lineNumber = lineNumber
    self._bytes = bytes
    self.position = bytes.startIndex
  }

  /// The 1-based column of the cursor.
  public var column: Int { position - _bytes.startIndex + 1 }
  public var isAtEnd: Bool { position >= _bytes.endIndex }
  public var peek: UInt8? { isAtEnd ? nil : _bytes[position] }

  /// The rest of the line as text.
  public var rest: String { String(decoding: _bytes[position...], as: UTF8.self) }

  /// The whole line as text.
  public var text: String { String(decoding: _bytes, as: UTF8.self) }

  /// An error at the cursor (or at `column`).
  public func error(expected: String, at column: Int? = nil) -> FormatError {
    let start = column.map { _bytes.startIndex + $0 - 1 } ?? position
    var end = start
    while end < _bytes.endIndex && end - start < 24 && !Self.isSpace(_bytes[end]) { end += 1 }
    let found = start >= _bytes.endIndex
      ? "end of line"
      : "'" + Self.printable(_bytes[start..<max(end, start + 1)]) + "'"
    return FormatError(file: file, line: lineNumber, column: start - _bytes.startIndex + 1,
                       expected: expected, found: found)
  }

  /// Bytes as text for a message: control bytes, DEL and a byte-order mark escaped (`\r`,
  /// `\x00`, `\u{FEFF}`), so a carriage return or NUL in the input cannot garble the line
  /// that reports it; invalid UTF-8 shows as U+FFFD.
  public static func printable<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
    var text = ""
    for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
      switch scalar.value {
      case 0x0D: text += "\\r"
      case 0x0A: text += "\\n"
      case 0x09: text += "\\t"
      case 0x00..<0x20, 0x7F: text += (scalar.value < 0x10 ? "\\x0" : "\\x") + String(scalar.value, radix: 16, uppercase: true)
      case 0xFEFF: text += "\\u{FEFF}"
      default: text.unicodeScalars.append(scalar)
      }
    }
    return text
  }

  @inlinable
  public static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

  /// Skips spaces and tabs; returns how many were skipped.
  @discardableResult
  public mutating func skipSpaces() -> Int {
    let start = position
    while let b = peek, Self.isSpace(b) { position += 1 }
    return position - start
  }

  /// Requires at least one space or tab, then skips them all.
  public mutating func expectSpaces(_ what: @autoclosure () -> String = "a space or tab") throws(FormatError) {
    if skipSpaces() == 0 { throw error(expected: what()) }
  }

  /// Consumes one byte that must be `byte`.
  public mutating func expect(_ byte: UInt8, _ what: @autoclosure () -> String) throws(FormatError) {
    guard peek == byte else { throw error(expected: what()) }
    position += 1
  }

  /// Consumes `literal` if the line continues with it.
  public mutating func consume(_ literal: String) -> Bool {
    let utf8 = literal.utf8
    guard _bytes.endIndex - position >= utf8.count else { return false }
    var i = position
    for b in utf8 {
      if _bytes[i] != b { return false }
      i += 1
    }
    position = i
    return true
  }

  /// Requires `literal` next.
  public mutating func expect(_ literal: String) throws(FormatError) {
    if !consume(literal) { throw error(expected: "'\(literal)'") }
  }

  /// Requires the end of the line (after optional trailing spaces).
  public mutating func expectEnd(_ what: @autoclosure () -> String = "end of line") throws(FormatError) {
    skipSpaces()
    if !isAtEnd { throw error(expected: what()) }
  }

  /// The next run of non-space bytes (possibly empty), consumed.
  public mutating func word() -> String {
    let start = position
    while let b = peek, !Self.isSpace(b) { position += 1 }
    return String(decoding: _bytes[start..<position], as: UTF8.self)
  }

  /// The next word without consuming it.
  public func peekWord() -> String {
    var copy = self
    return copy.word()
  }

  /// An unsigned decimal number no larger than `maximum`.
  public mutating func decimal(max maximum: UInt64, _ what: @autoclosure () -> String) throws(FormatError) -> UInt64 {
    let start = position
    var value: UInt64 = 0
    while let b = peek, b >= 0x30 && b <= 0x39 {
      let (m, o1) = value.multipliedReportingOverflow(by: 10)
      let (a, o2) = m.addingReportingOverflow(UInt64(b - 0x30))
      if o1 || o2 || a > maximum { throw error(expected: what(), at: start - _bytes.startIndex + 1) }
      value = a
      position += 1
    }
    if position == start { throw error(expected: what()) }
    return value
  }

  /// A hexadecimal number with a `0x` prefix, no larger than `maximum`.
  public mutating func hex(max maximum: UInt64, _ what: @autoclosure () -> String) throws(FormatError) -> UInt64 {
    let start = position
    guard consume("0x") || consume("0X") else { throw error(expected: what()) }
    let digitsStart = position
    var value: UInt64 = 0
    while let b = peek, let digit = Self.hexDigit(b) {
      if value > (UInt64.max >> 4) || (value << 4 | digit) > maximum {
        throw error(expected: what(), at: start - _bytes.startIndex + 1)
      }
      value = value << 4 | digit
      position += 1
    }
    if position == digitsStart { throw error(expected: what(), at: start - _bytes.startIndex + 1) }
    return value
  }

  /// A number written in decimal or as `0x` hex (as `ip` accepts and prints).
  public mutating func number(max maximum: UInt64, _ what: @autoclosure () -> String) throws(FormatError) -> UInt64 {
    if peek == 0x30, position + 1 < _bytes.endIndex, _bytes[position + 1] | 0x20 == 0x78 {
      return try hex(max: maximum, what())
    }
    return try decimal(max: maximum, what())
  }

  @inlinable
  public static func hexDigit(_ b: UInt8) -> UInt64? {
    switch b {
    case 0x30...0x39: UInt64(b - 0x30)
    case 0x61...0x66: UInt64(b - 0x61 + 10)
    case 0x41...0x46: UInt64(b - 0x41 + 10)
    default: nil
    }
  }

  /// An IPv4 or IPv6 address (the token up to the next space, `/` or end).
  public mutating func address(_ what: @autoclosure () -> String = "an IPv4 or IPv6 address") throws(FormatError) -> IPAddress {
    let start = position
    while let b = peek, !Self.isSpace(b), b != 0x2F { position += 1 }
    guard let address = IPAddress(parsing: _bytes[start..<position]) else {
      throw error(expected: what(), at: start - _bytes.startIndex + 1)
    }
    return address
  }

  /// `ADDRESS/LENGTH` (or a bare address when `allowBare`, meaning a host prefix).
  public mutating func prefix(allowBare: Bool = false) throws(FormatError) -> AddressPrefix {
    let start = position
    let address = try self.address("an address prefix (ADDRESS/LENGTH)")
    guard consume("/") else {
      if allowBare { return .host(address) }
      throw error(expected: "'/' and a prefix length")
    }
    let lengthColumn = column
    let width = address.family.addressWidth
    let length = try decimal(max: 255, "a prefix length 0...\(width)")
    do {
      return try AddressPrefix(address: address, length: Int(length))
    } catch {
      _ = start
      throw self.error(expected: "a prefix length 0...\(width)", at: lengthColumn)
    }
  }
}

/// The lines of a text, as byte slices, with their 1-based numbers. Accepts `\n` and `\r\n`.
public struct TextLines: Sequence {
  public let bytes: [UInt8]

  public init(_ bytes: [UInt8]) { self.bytes = bytes }
  public init(_ text: String) { self.bytes = Array(text.utf8) }

  public struct Iterator: IteratorProtocol {
    let bytes: [UInt8]
    var start = 0
    var number = 0

    public mutating func next() -> (number: Int, bytes: ArraySlice<UInt8>)? {
      guard start < bytes.count else { return nil }
      var end = start
      while end < bytes.count && bytes[end] != 0x0A { end += 1 }
      number += 1
      var lineEnd = end
      if lineEnd > start && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
      let line = bytes[start..<lineEnd]
      start = end + 1
      return (number, line)
    }
  }

  public func makeIterator() -> Iterator { Iterator(bytes: bytes) }
}
