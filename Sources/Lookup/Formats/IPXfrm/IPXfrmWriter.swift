/// Writes Lookup's policies and SAs as `ip xfrm` text: the listing `ip xfrm policy list` /
/// `ip xfrm state list` / `ip xfrm policy getdefault` print (`dump`), and the commands that
/// install them with `ip -batch` (`batch`, in `IPXfrmWriter+Batch.swift`).
public enum IPXfrmWriter {
  /// The text `ip xfrm policy list`, then `ip xfrm state list`, then (when `dump` has default
  /// actions) `ip xfrm policy getdefault` print for these entries, in the dump's order.
  ///
  /// It is `ip`'s plain form, token for token, with two additions so that everything the
  /// reader can produce survives `read → dump → read`: a policy's `index N` when it is not 0
  /// (`ip` prints it only with `-s`), and a mobility-header selector's code as `code N` (`ip`
  /// prints it only with `-s`, as a raw network-order `(dport)` field). SAs carry no algorithm
  /// lines (Lookup does not model algorithms) and a fresh anti-replay context; their `id` and
  /// Lookup-only fields (namespace, inbound match form) are not printed.
  ///
  /// Selector fields the kernel cannot hold print in spellings the reader refuses, never as a
  /// different selector: a port range as `sport 1-1023`, a partial port mask as
  /// `sport 256/0xff00`, exactly protocol 0 as `proto exactly-0`, a DSCP as `dscp 46`. Use
  /// `batch` to find out whether a set is expressible.
  /// - Parameters:
  ///   - dump: the entries, in dump order (newest first).
  ///   - interfaceName: names a selector's ifindex; unnamed indexes print as `ip` prints
  ///     them, `ifN`.
  /// - Complexity: O(n) in the number of entries and templates.
  public static func dump(_ dump: IPXfrmDump,
                          interfaceName: (UInt32) -> String? = IPXfrmInterfaceNames.name(ofIndex:)) -> String {
    var text = ""
    for policy in dump.policies { writePolicy(policy, to: &text, interfaceName: interfaceName) }
    for sa in dump.securityAssociations { writeState(sa, to: &text, interfaceName: interfaceName) }
    if let actions = dump.defaultActions {
      text += "Default policies:\n"
      text += " in:  \(IPXfrmTokens.defaultName(of: actions.inbound))\n"
      text += " fwd: \(IPXfrmTokens.defaultName(of: actions.forward))\n"
      text += " out: \(IPXfrmTokens.defaultName(of: actions.outbound))\n"
    }
    return text
  }

  // MARK: - Entries

  private static func writePolicy(_ policy: Policy, to text: inout String, interfaceName: (UInt32) -> String?) {
    text += selectorText(policy.selector, interfaceName: interfaceName) + "\n"
    text += "\tdir \(IPXfrmTokens.name(of: policy.direction)) "
    if policy.action == .block { text += "action block " }
    if policy.index != 0 { text += "index \(policy.index) " }
    text += "priority \(policy.priority) ptype \(IPXfrmTokens.name(of: policy.type)) \n"
    if policy.mark != .any { text += "\tmark \(hashHex(policy.mark.value))/\(hashHex(policy.mark.mask)) \n" }
    for template in policy.templates {
      text += "\ttmpl src \(template.source) dst \(template.destination)\n"
      text += "\t\tproto \(IPXfrmTokens.name(of: template.proto)) "
      if template.spi != 0 { text += "spi 0x\(hex8(template.spi)) " }
      text += "reqid \(template.reqid) mode \(IPXfrmTokens.name(of: template.mode))\n"
      if template.isOptional { text += "\t\tlevel use \n" }
    }
    if policy.interfaceID != 0 { text += "\tif_id \(hashHex(policy.interfaceID))\n" }
    if !policy.populateFromPacket.isEmpty { text += "\tpfp \(policy.populateFromPacket.nameList.joined(separator: " "))\n" }
  }

  private static func writeState(_ sa: SecurityAssociation, to text: inout String,
                                 interfaceName: (UInt32) -> String?) {
    text += "src \(sa.source) dst \(sa.destination)\n"
    text += "\tproto \(IPXfrmTokens.name(of: sa.proto)) spi 0x\(hex8(sa.spi)) reqid \(sa.reqid) "
      + "mode \(IPXfrmTokens.name(of: sa.mode))\n"
    // Windows above 32 live in the ESN state; the SA's own field then reads 0.
    let usesESN = sa.replayWindow > 32
    text += "\treplay-window \(usesESN ? 0 : sa.replayWindow) \n"
    if sa.mark != .any { text += "\tmark \(hashHex(sa.mark.value))/\(hashHex(sa.mark.mask)) \n" }
    if usesESN {
      let words = Int((sa.replayWindow + 31) / 32)
      text += "\tanti-replay esn context:\n"
      text += "\t seq-hi 0x0, seq 0x0, oseq-hi 0x0, oseq 0x0\n"
      text += "\t replay_window \(sa.replayWindow), bitmap-length \(words)"
      for word in 0..<words {
        if word % 8 == 0 { text += "\n\t " }
        text += "00000000 "
      }
      text += "\n"
    } else {
      text += "\tanti-replay context: seq 0x0, oseq 0x0, bitmap 0x00000000\n"
    }
    if sa.interfaceID != 0 { text += "\tif_id \(hashHex(sa.interfaceID))\n" }
    if let selector = sa.selector {
      text += "\tsel " + selectorText(selector, interfaceName: interfaceName) + "\n"
    }
  }

  // MARK: - Selectors

  /// A selector as `xfrm_selector_print` prints it: every token followed by a space.
  static func selectorText(_ selector: PolicySelector, interfaceName: (UInt32) -> String?) -> String {
    var text = "src \(selector.source) dst \(selector.destination) "
    let sport = portText(selector.sourcePort)
    let dport = portText(selector.destinationPort)
    switch selector.proto.number {
    case nil:
      text += portTokens(("sport", sport), ("dport", dport))
    case 0?:
      text += "proto exactly-0 " + portTokens(("sport", sport), ("dport", dport))
    case let proto?:
      text += "proto \(IPXfrmTokens.protocolName(proto)) "
      if IPXfrmTokens.typeCodeProtocols.contains(proto) {
        text += portTokens(("type", sport), ("code", dport))
      } else if proto == IPProtocolNumber.gre, let key = greKey(selector) {
        text += "key \(key) "
      } else if proto == IPProtocolNumber.gre && selector.sourcePort.isAny && selector.destinationPort.isAny {
        // No key.
      } else {
        text += portTokens(("sport", sport), ("dport", dport))
      }
    }
    if let dscp = selector.dscp.value { text += "dscp \(dscp) " }
    if selector.ifindex != 0 {
      text += "dev \(interfaceName(selector.ifindex) ?? IPXfrmInterfaceNames.fallbackName(selector.ifindex)) "
    }
    return text
  }

  private static func portTokens(_ first: (String, String?), _ second: (String, String?)) -> String {
    var text = ""
    if let value = first.1 { text += "\(first.0) \(value) " }
    if let value = second.1 { text += "\(second.0) \(value) " }
    return text
  }

  /// `N` for an exact port, `V/0xM` for another mask, `L-H` for a range, nil for any.
  private static func portText(_ port: PortSelector) -> String? {
    if port.isAny { return nil }
    guard let (value, mask) = port.valueMask else { return "\(port.low)-\(port.high)" }
    return mask == .max ? "\(value)" : "\(value)/0x\(String(mask, radix: 16))"
  }

  /// The 32-bit GRE key when both halves are exact.
  static func greKey(_ selector: PolicySelector) -> UInt32? {
    guard let (high, highMask) = selector.sourcePort.valueMask, highMask == .max,
          let (low, lowMask) = selector.destinationPort.valueMask, lowMask == .max else { return nil }
    return UInt32(high) << 16 | UInt32(low)
  }

  // MARK: - Numbers

  /// `%08x`.
  static func hex8(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
  }

  /// `%#x`: `0` for zero, else `0x` and the hex digits.
  static func hashHex(_ value: UInt32) -> String {
    value == 0 ? "0" : "0x" + String(value, radix: 16)
  }
}
