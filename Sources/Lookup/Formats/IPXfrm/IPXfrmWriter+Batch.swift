extension IPXfrmWriter {
  /// The `ip -batch` lines (without the leading `ip`) that install these policies, SAs and
  /// default actions in an empty network namespace, e.g. `ip -n NS -batch FILE`.
  ///
  /// The lines come in three groups: the policies, the `xfrm policy setdefault` line, then the
  /// SAs. `ip` stops a batch at the first failing xfrm command (even with `-force`), so a
  /// kernel without ESP/AH/IPcomp support still gets the complete SPD before the SAs fail.
  ///
  /// Policies are added in the order given, which must be oldest first (as an SPD's
  /// `policies` or `IPXfrmDump.policiesOldestFirst` give them): the kernel then ranks equal
  /// priorities exactly as the source did. Explicit indexes are kept (`index N`), index 0 lets
  /// the kernel choose. Selector protocols are written as numbers, so loading does not depend
  /// on `/etc/protocols`.
  ///
  /// Lookup does not model algorithms, so every SA gets a null algorithm the kernel accepts:
  /// `enc cipher_null ""` for ESP, `auth digest_null ""` for AH, `comp deflate` for IPcomp.
  /// These SAs decide lookups exactly as the originals but protect nothing.
  ///
  /// - Parameters:
  ///   - policies: oldest first.
  ///   - securityAssociations: oldest first.
  ///   - defaultActions: written as `xfrm policy setdefault …` when not nil.
  ///   - interfaceName: names a selector's ifindex for `dev NAME` (the names of the namespace
  ///     the lines will run in).
  /// - Throws: `IPXfrmWriteError` for the first entry `ip xfrm` cannot express: port ranges
  ///   that are not one value/mask block, port masks other than 0xffff, exact port 0, exact
  ///   protocol 0, ports on protocols `ip` takes none for, a DSCP selector, an unnamed
  ///   interface, a mark with mask 0, an index without its direction bits, more than six
  ///   templates or templates the kernel's `validate_tmpl` refuses, an SA namespace other
  ///   than 0, BEET on AH/IPcomp, IPcomp windows above 32, populate-from-packet flags.
  /// - Complexity: O(n) in the number of entries and templates.
  public static func batch(
    policies: [Policy],
    securityAssociations: [SecurityAssociation] = [],
    defaultActions: DefaultActions? = nil,
    interfaceName: (UInt32) -> String? = IPXfrmInterfaceNames.name(ofIndex:)
  ) throws(IPXfrmWriteError) -> String {
    var lines: [String] = []
    for (position, policy) in policies.enumerated() {
      lines.append(try policyCommand(policy, entry: .policy(position: position, policy), interfaceName: interfaceName))
    }
    if let actions = defaultActions {
      lines.append("xfrm policy setdefault in \(IPXfrmTokens.defaultName(of: actions.inbound)) "
                     + "fwd \(IPXfrmTokens.defaultName(of: actions.forward)) "
                     + "out \(IPXfrmTokens.defaultName(of: actions.outbound))")
    }
    for (position, sa) in securityAssociations.enumerated() {
      lines.append(try stateCommand(sa, entry: .securityAssociation(position: position, sa),
                                    interfaceName: interfaceName))
    }
    return lines.map { $0 + "\n" }.joined()
  }

  // MARK: - Commands

  private static func policyCommand(_ policy: Policy, entry: IPXfrmWriteError.Entry,
                                    interfaceName: (UInt32) -> String?) throws(IPXfrmWriteError) -> String {
    func fail(_ reason: IPXfrmWriteError.Reason) -> IPXfrmWriteError { IPXfrmWriteError(entry: entry, reason: reason) }
    if policy.index != 0 && policy.index & 7 != UInt32(policy.direction.rawValue) {
      throw fail(.indexDirectionMismatch(index: policy.index))
    }
    if policy.templates.count > Policy.maximumTemplates { throw fail(.tooManyTemplates(policy.templates.count)) }
    if !policy.populateFromPacket.isEmpty { throw fail(.populateFromPacket(policy.populateFromPacket)) }
    var line = "xfrm policy add " + (try batchSelector(policy.selector, entry: entry, interfaceName: interfaceName))
    line += " dir \(IPXfrmTokens.name(of: policy.direction))"
    line += try markTokens(policy.mark, entry: entry)
    if policy.index != 0 { line += " index \(policy.index)" }
    line += " ptype \(IPXfrmTokens.name(of: policy.type)) action \(IPXfrmTokens.name(of: policy.action))"
    line += " priority \(policy.priority)"
    if policy.interfaceID != 0 { line += " if_id \(policy.interfaceID)" }
    var previousFamily = policy.selector.family
    for (number, template) in policy.templates.enumerated() {
      guard template.source.family == template.family, template.destination.family == template.family else {
        throw fail(.templateFamilyMismatch(template: number))
      }
      // The kernel's validate_tmpl: only tunnel and BEET change the family; optional ones
      // are refused on output.
      if template.mode == .transport && template.family != previousFamily {
        throw fail(.templateFamilyChange(template: number))
      }
      if template.mode != .transport && template.isOptional && policy.direction == .out {
        throw fail(.optionalTemplateInOutbound(template: number))
      }
      previousFamily = template.family
      if template.proto == .ipcomp && template.spi > 0xFFFF {
        throw fail(.templateCPITooLarge(template: number, spi: template.spi))
      }
      line += " tmpl src \(template.source) dst \(template.destination) proto \(IPXfrmTokens.name(of: template.proto))"
      if template.spi != 0 { line += " spi 0x\(hex8(template.spi))" }
      line += " reqid \(template.reqid) mode \(IPXfrmTokens.name(of: template.mode))"
      if template.isOptional { line += " level use" }
    }
    return line
  }

  private static func stateCommand(_ sa: SecurityAssociation, entry: IPXfrmWriteError.Entry,
                                   interfaceName: (UInt32) -> String?) throws(IPXfrmWriteError) -> String {
    func fail(_ reason: IPXfrmWriteError.Reason) -> IPXfrmWriteError { IPXfrmWriteError(entry: entry, reason: reason) }
    if sa.namespace != 0 { throw fail(.namespace(sa.namespace)) }
    if sa.mode == .beet && sa.proto != .esp { throw fail(.modeNotAllowed(sa.mode, sa.proto)) }
    if sa.replayWindow > 32 && sa.proto == .ipcomp { throw fail(.replayWindowTooLarge(sa.replayWindow, sa.proto)) }
    var line = "xfrm state add src \(sa.source) dst \(sa.destination) proto \(IPXfrmTokens.name(of: sa.proto))"
    line += " spi 0x\(hex8(sa.spi)) reqid \(sa.reqid) mode \(IPXfrmTokens.name(of: sa.mode))"
    line += try markTokens(sa.mark, entry: entry)
    if sa.interfaceID != 0 { line += " if_id \(sa.interfaceID)" }
    if sa.replayWindow != 0 { line += " replay-window \(sa.replayWindow)" }
    if let selector = sa.selector {
      line += " sel " + (try batchSelector(selector, entry: entry, interfaceName: interfaceName))
    }
    switch sa.proto {
    case .esp: line += " enc cipher_null \"\""
    case .ah: line += " auth digest_null \"\""
    case .ipcomp: line += " comp deflate"
    }
    return line
  }

  /// ` mark 0xV mask 0xM`, or nothing for the match-all mark.
  private static func markTokens(_ mark: MarkSelector, entry: IPXfrmWriteError.Entry)
  throws(IPXfrmWriteError) -> String {
    if mark.mask == 0 {
      if mark.value != 0 { throw IPXfrmWriteError(entry: entry, reason: .markWithoutMask(value: mark.value)) }
      return ""
    }
    return " mark \(hashHex(mark.value)) mask \(hashHex(mark.mask))"
  }

  // MARK: - Selectors

  /// `src P dst P [dev NAME] [proto N [sport N] [dport N] | [type N] [code N] | [key N]]`:
  /// `dev` before the protocol, where `ip`'s selector parser takes it.
  private static func batchSelector(_ selector: PolicySelector, entry: IPXfrmWriteError.Entry,
                                    interfaceName: (UInt32) -> String?) throws(IPXfrmWriteError) -> String {
    func fail(_ reason: IPXfrmWriteError.Reason) -> IPXfrmWriteError { IPXfrmWriteError(entry: entry, reason: reason) }
    if let dscp = selector.dscp.value { throw fail(.dscp(dscp)) }
    var text = "src \(selector.source) dst \(selector.destination)"
    if selector.ifindex != 0 {
      guard let name = interfaceName(selector.ifindex) else { throw fail(.unknownInterface(selector.ifindex)) }
      text += " dev \(name)"
    }
    let ports = [(IPXfrmWriteError.PortField.source, selector.sourcePort),
                 (IPXfrmWriteError.PortField.destination, selector.destinationPort)]
    guard let proto = selector.proto.number else {
      return text + (try exactPorts(ports, names: ("sport", "dport"), entry: entry))
    }
    if proto == 0 { throw fail(.exactProtocolZero) }
    text += " proto \(proto)"
    if IPXfrmTokens.portProtocols.contains(proto) {
      text += try exactPorts(ports, names: ("sport", "dport"), entry: entry)
    } else if IPXfrmTokens.typeCodeProtocols.contains(proto) {
      text += try exactPorts(ports, names: ("type", "code"), entry: entry)
    } else if proto == IPProtocolNumber.gre {
      if selector.sourcePort.isAny && selector.destinationPort.isAny { return text }
      for (field, port) in ports where !port.isAny { try checkExact(port, field, entry: entry) }
      guard let key = greKey(selector) else { throw fail(.partialGREKey) }
      text += " key \(key)"
    } else {
      for (field, port) in ports where !port.isAny { throw fail(.portsNotAllowed(field, proto: proto)) }
    }
    return text
  }

  /// ` sport N dport N` (or ` type N code N`) for exact ports; nothing for any.
  private static func exactPorts(_ ports: [(IPXfrmWriteError.PortField, PortSelector)], names: (String, String),
                                 entry: IPXfrmWriteError.Entry) throws(IPXfrmWriteError) -> String {
    var text = ""
    for (field, port) in ports where !port.isAny {
      try checkExact(port, field, entry: entry)
      let value = port.value
      let name = field == .source ? names.0 : names.1
      if name == "sport" || name == "dport" {
        // `ip` sets the mask only for a nonzero port: `sport 0` means any.
        if value == 0 { throw IPXfrmWriteError(entry: entry, reason: .exactPortZero(field)) }
      } else if value > 255 {
        throw IPXfrmWriteError(entry: entry, reason: .typeCodeTooLarge(field, value: value))
      }
      text += " \(name) \(value)"
    }
    return text
  }

  /// Requires a value/mask selector with mask 0xffff.
  private static func checkExact(_ port: PortSelector, _ field: IPXfrmWriteError.PortField,
                                 entry: IPXfrmWriteError.Entry) throws(IPXfrmWriteError) {
    guard let (value, mask) = port.valueMask else {
      throw IPXfrmWriteError(entry: entry, reason: .portRange(field, low: port.low, high: port.high))
    }
    if mask != .max { throw IPXfrmWriteError(entry: entry, reason: .portMask(field, value: value, mask: mask)) }
  }
}
