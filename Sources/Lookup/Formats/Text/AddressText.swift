// Text forms of addresses: parsing (dotted quad, RFC 4291 IPv6 text including `::` and an
// embedded IPv4 tail) and printing (dotted quad; RFC 5952 IPv6, with glibc `inet_ntop`'s
// choices so that what we print is what `ip` prints).

extension IPAddress {
  /// Parses an IPv4 (`192.0.2.1`) or IPv6 (`2001:db8::1`, `::ffff:192.0.2.1`) address.
  public init?(parsing text: String) {
    guard let parsed = IPAddress(parsing: Array(text.utf8)[...]) else { return nil }
    self = parsed
  }

  /// Parses an address from bytes. Returns nil for anything that is not exactly one address.
  public init?(parsing bytes: ArraySlice<UInt8>) {
    if bytes.contains(0x3A) {  // ':'
      guard let value = Self._parseIPv6(bytes) else { return nil }
      self.init(ipv6: value)
    } else {
      guard let value = Self._parseIPv4(bytes) else { return nil }
      self.init(ipv4: value)
    }
  }

  static func _parseIPv4(_ bytes: ArraySlice<UInt8>) -> UInt32? {
    var value: UInt32 = 0
    var octets = 0
    var i = bytes.startIndex
    while octets < 4 {
      var octet: UInt32 = 0
      var digits = 0
      while i < bytes.endIndex, bytes[i] >= 0x30, bytes[i] <= 0x39 {
        octet = octet * 10 + UInt32(bytes[i] - 0x30)
        digits += 1
        i += 1
        if digits > 3 || octet > 255 { return nil }
      }
      if digits == 0 { return nil }
      value = value << 8 | octet
      octets += 1
      if octets < 4 {
        guard i < bytes.endIndex, bytes[i] == 0x2E else { return nil }
        i += 1
      }
    }
    return i == bytes.endIndex ? value : nil
  }

  static func _parseIPv6(_ bytes: ArraySlice<UInt8>) -> UInt128? {
    var head: [UInt16] = []
    var tail: [UInt16] = []
    var sawDoubleColon = false
    var i = bytes.startIndex
    if bytes.starts(with: [0x3A, 0x3A]) {
      sawDoubleColon = true
      i += 2
    } else if bytes.first == 0x3A {
      return nil
    }
    while i < bytes.endIndex {
      // An embedded IPv4 tail takes the last 32 bits.
      var j = i
      while j < bytes.endIndex, LineScanner.hexDigit(bytes[j]) != nil { j += 1 }
      if j < bytes.endIndex, bytes[j] == 0x2E {
        guard let v4 = _parseIPv4(bytes[i...]) else { return nil }
        let words = [UInt16(v4 >> 16), UInt16(truncatingIfNeeded: v4)]
        if sawDoubleColon { tail += words } else { head += words }
        i = bytes.endIndex
        break
      }
      guard j > i, j - i <= 4 else { return nil }
      var word: UInt16 = 0
      for k in i..<j { word = word << 4 | UInt16(LineScanner.hexDigit(bytes[k])!) }
      if sawDoubleColon { tail.append(word) } else { head.append(word) }
      i = j
      if i == bytes.endIndex { break }
      guard bytes[i] == 0x3A else { return nil }
      i += 1
      if i < bytes.endIndex, bytes[i] == 0x3A {
        if sawDoubleColon { return nil }
        sawDoubleColon = true
        i += 1
      } else if i == bytes.endIndex {
        return nil  // a trailing single ':'
      }
    }
    let total = head.count + tail.count
    if sawDoubleColon ? total > 7 : total != 8 { return nil }
    let words = head + Array(repeating: 0, count: 8 - total) + tail
    return words.reduce(UInt128(0)) { $0 << 16 | UInt128($1) }
  }
}

extension IPAddress: CustomStringConvertible {
  /// The address as `ip` prints it: dotted quad, or RFC 5952 IPv6 text (glibc `inet_ntop`).
  public var description: String {
    switch family {
    case .ipv4:
      let v = ipv4Value
      return "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)"
    case .ipv6:
      let words = (0..<8).map { UInt16(truncatingIfNeeded: bits >> UInt128(112 - 16 * $0)) }
      // The longest run of zero words (the first on a tie), if at least two long.
      var bestStart = -1, bestLength = 0, runStart = -1
      for k in 0...8 {
        if k < 8 && words[k] == 0 {
          if runStart < 0 { runStart = k }
        } else if runStart >= 0 {
          if k - runStart > bestLength { bestStart = runStart; bestLength = k - runStart }
          runStart = -1
        }
      }
      if bestLength < 2 { bestStart = -1 }
      // glibc prints IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) tails dotted.
      let dottedTail = bestStart == 0 && (bestLength == 6 || (bestLength == 5 && words[5] == 0xFFFF))
      var text = ""
      var k = 0
      while k < 8 {
        if k == bestStart {
          text += "::"
          k += bestLength
          continue
        }
        if dottedTail && k == 6 {
          let v4 = UInt32(words[6]) << 16 | UInt32(words[7])
          if !text.hasSuffix(":") { text += ":" }
          text += IPAddress(ipv4: v4).description
          break
        }
        if !text.isEmpty && !text.hasSuffix(":") { text += ":" }
        text += String(words[k], radix: 16)
        k += 1
      }
      return text
    }
  }
}

extension AddressPrefix: CustomStringConvertible {
  /// `ADDRESS/LENGTH`, with the address as written (host bits included).
  public var description: String { "\(address)/\(length)" }
}
