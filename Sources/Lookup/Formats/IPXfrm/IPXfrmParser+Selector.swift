// The selector tokens `xfrm_selector_print` writes, for a policy's header line and an SA's
// `sel` line: `src P dst P [proto NAME|N] [sport N] [dport N] | [type N] [code N] | [key N]
// [dev NAME] [uid N]`.

extension IPXfrmParser {
  /// Reads a selector from `src` to the end of the line.
  func parseSelector(_ s: inout LineScanner) throws(FormatError) -> PolicySelector {
    try s.xfrmKeyword("src")
    let source = try s.prefix()
    try s.xfrmEndOfToken()
    try s.xfrmKeyword("dst")
    let destinationColumn = s.column
    let destination = try s.prefix()
    try s.xfrmEndOfToken()
    guard destination.family == source.family else {
      throw s.error(expected: "a dst prefix of the same address family as the src prefix", at: destinationColumn)
    }

    var proto: UInt8?  // nil = any
    var sourcePort = PortSelector.any
    var destinationPort = PortSelector.any
    var ifindex: UInt32 = 0
    var seen: Set<String> = []
    while !s.isAtEnd {
      let (token, column) = s.xfrmWord()
      let allowed = Self.selectorTokens(proto: proto, afterPorts: !seen.isDisjoint(with: Self.portTokens))
      guard allowed.contains(token), !seen.contains(token) else {
        let list = allowed.filter { !seen.contains($0) }.map { "'\($0)'" }.joined(separator: ", ")
        throw s.error(expected: "\(list) or end of line", at: column)
      }
      seen.insert(token)
      switch token {
      case "proto":
        proto = try parseProtocol(&s)
      case "sport", "type":
        sourcePort = .exactly(UInt16(try s.xfrmDecimal(max: 0xFFFF, "a number 0...65535")))
      case "dport", "code":
        destinationPort = .exactly(UInt16(try s.xfrmDecimal(max: 0xFFFF, "a number 0...65535")))
      case "(dport)":
        // `ip -s` prints the mobility header's raw network-order field with %x.
        let raw = UInt16(try s.xfrmNumber(max: 0xFFFF, "a 0x-prefixed 16-bit value"))
        destinationPort = .exactly(raw.byteSwapped)
      case "key":
        let key = UInt32(try s.xfrmDecimal(max: UInt64(UInt32.max), "a GRE key 0...4294967295"))
        sourcePort = .exactly(UInt16(truncatingIfNeeded: key >> 16))
        destinationPort = .exactly(UInt16(truncatingIfNeeded: key))
      case "dev":
        ifindex = try parseInterface(&s)
      default:  // "uid": the selector's user id, not modelled.
        _ = try s.xfrmDecimal(max: UInt64(UInt32.max), "a user id")
      }
    }
    do {
      return try PolicySelector(source: source, destination: destination, sourcePort: sourcePort,
                                destinationPort: destinationPort,
                                proto: proto.map { .number($0) } ?? .any, ifindex: ifindex)
    } catch {
      throw s.error(expected: "a dst prefix of the same address family as the src prefix", at: destinationColumn)
    }
  }

  private static let portTokens: Set<String> = ["sport", "dport", "type", "code", "(dport)", "key"]

  /// The tokens that may follow, given the protocol read so far, in `ip`'s printing order.
  private static func selectorTokens(proto: UInt8?, afterPorts: Bool) -> [String] {
    var tokens: [String] = []
    if proto == nil && !afterPorts { tokens.append("proto") }
    switch proto {
    case let p? where p == IPProtocolNumber.mobilityHeader: tokens += ["type", "code", "(dport)"]
    case let p? where IPXfrmTokens.typeCodeProtocols.contains(p): tokens += ["type", "code"]
    case IPProtocolNumber.gre?: tokens.append("key")
    default: tokens += ["sport", "dport"]
    }
    return tokens + ["dev", "uid"]
  }

  /// `proto NAME|NUMBER`; 0 and `any` mean any protocol.
  private func parseProtocol(_ s: inout LineScanner) throws(FormatError) -> UInt8? {
    let (name, column) = s.xfrmWord()
    let number: UInt8?
    if !name.isEmpty, name.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
      guard name.utf8.count <= 3, let value = UInt8(name) else {
        throw s.error(expected: "a protocol number 0...255", at: column)
      }
      number = value
    } else if name.lowercased() == "any" {
      number = 0
    } else {
      guard let value = IPXfrmTokens.protocolNumbers[name.lowercased()] else {
        throw s.error(expected: "a protocol name (tcp, udp, icmp, ipv6-icmp, gre, sctp, …) or a number 0...255",
                      at: column)
      }
      number = value
    }
    return number == 0 ? nil : number
  }

  /// `dev NAME`: through the caller's table, the C library, then `ip`'s fallback `ifN`.
  private func parseInterface(_ s: inout LineScanner) throws(FormatError) -> UInt32 {
    let (name, column) = s.xfrmWord()
    if let index = interfaces[name] ?? IPXfrmInterfaceNames.index(named: name)
      ?? IPXfrmInterfaceNames.indexFromFallbackName(name) {
      return index
    }
    throw s.error(expected: "a known interface name", at: column)
  }
}
