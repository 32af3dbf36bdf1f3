/// Every word `ip xfrm` spells — protocol names, IPsec protocols, modes, directions, actions —
/// in one place, so that `IPXfrmReader` reads exactly what `IPXfrmWriter` writes.
///
/// The selector protocol names are the ones `ip` takes from `/etc/protocols`
/// (`getprotobynumber`); the table below is Debian netbase's, which is what `ip` prints on a
/// usual Linux system. Numbers without a name print in decimal.
enum IPXfrmTokens {
  // MARK: - Selector protocols

  /// `/etc/protocols` (netbase), number → the name `getprotobynumber` returns.
  static let protocolNames: [UInt8: String] = {
    var names: [UInt8: String] = [:]
    for (number, name) in protocolTable where names[number] == nil { names[number] = name }
    return names
  }()

  /// Name (lower case) → number, with the aliases `ip` users write.
  static let protocolNumbers: [String: UInt8] = {
    var numbers: [String: UInt8] = [:]
    for (number, name) in protocolTable { numbers[name] = number }
    numbers["comp"] = IPProtocolNumber.ipcomp
    numbers["icmpv6"] = IPProtocolNumber.icmpv6
    return numbers
  }()

  private static let protocolTable: [(UInt8, String)] = [
    (0, "ip"), (0, "hopopt"), (1, "icmp"), (2, "igmp"), (3, "ggp"), (4, "ipencap"), (5, "st"), (6, "tcp"),
    (8, "egp"), (9, "igp"), (12, "pup"), (17, "udp"), (20, "hmp"), (22, "xns-idp"), (27, "rdp"),
    (29, "iso-tp4"), (33, "dccp"), (36, "xtp"), (37, "ddp"), (38, "idpr-cmtp"), (41, "ipv6"),
    (43, "ipv6-route"), (44, "ipv6-frag"), (45, "idrp"), (46, "rsvp"), (47, "gre"), (50, "esp"), (51, "ah"),
    (57, "skip"), (58, "ipv6-icmp"), (59, "ipv6-nonxt"), (60, "ipv6-opts"), (73, "rspf"), (81, "vmtp"),
    (88, "eigrp"), (89, "ospf"), (93, "ax.25"), (94, "ipip"), (97, "etherip"), (98, "encap"), (103, "pim"),
    (108, "ipcomp"), (112, "vrrp"), (115, "l2tp"), (124, "isis"), (132, "sctp"), (133, "fc"),
    (135, "mobility-header"), (136, "udplite"), (137, "mpls-in-ip"), (138, "manet"), (139, "hip"),
    (140, "shim6"), (141, "wesp"), (142, "rohc"), (143, "ethernet"),
  ]

  /// The name `ip` prints for a selector protocol (`tcp`, `ipv6-icmp`, or the decimal number).
  static func protocolName(_ number: UInt8) -> String {
    protocolNames[number] ?? String(number)
  }

  /// Protocols whose selector ports `ip` prints and parses as `sport`/`dport`. `ip` refuses
  /// ports with any other protocol except "any" (`IPPROTO_IP`).
  static let portProtocols: Set<UInt8> = [IPProtocolNumber.tcp, IPProtocolNumber.udp, 33 /* dccp */, IPProtocolNumber.sctp]

  /// Protocols whose selector ports are `type` (source) and `code` (destination).
  static let typeCodeProtocols: Set<UInt8> = [IPProtocolNumber.icmp, IPProtocolNumber.icmpv6, IPProtocolNumber.mobilityHeader]

  // MARK: - IPsec protocols and modes

  static func name(of proto: IPsecProtocol) -> String {
    switch proto {
    case .esp: "esp"
    case .ah: "ah"
    case .ipcomp: "comp"
    }
  }

  static func ipsecProtocol(named name: String) -> IPsecProtocol? {
    IPsecProtocol.allCases.first { self.name(of: $0) == name }
  }

  /// XFRM protocols `ip` knows that Lookup does not model (Mobile IPv6, the "any" wildcard).
  static let unsupportedIPsecProtocols: Set<String> = ["route2", "hao", "ipsec-any"]

  static func name(of mode: IPsecMode) -> String {
    switch mode {
    case .transport: "transport"
    case .tunnel: "tunnel"
    case .beet: "beet"
    }
  }

  static func mode(named name: String) -> IPsecMode? {
    IPsecMode.allCases.first { self.name(of: $0) == name }
  }

  /// Modes `ip` prints that Lookup does not model (Mobile IPv6 route optimisation).
  static let unsupportedModes: Set<String> = ["ro", "in_trigger"]

  static let expectedModes = "a mode (transport, tunnel or beet)"

  // MARK: - Policies

  static func name(of direction: PolicyDirection) -> String {
    switch direction {
    case .in: "in"
    case .out: "out"
    case .fwd: "fwd"
    }
  }

  static func direction(named name: String) -> PolicyDirection? {
    PolicyDirection.allCases.first { self.name(of: $0) == name }
  }

  static func name(of type: PolicyType) -> String {
    type == .main ? "main" : "sub"
  }

  static func policyType(named name: String) -> PolicyType? {
    PolicyType.allCases.first { self.name(of: $0) == name }
  }

  static func name(of action: PolicyAction) -> String {
    action == .allow ? "allow" : "block"
  }

  static func action(named name: String) -> PolicyAction? {
    PolicyAction.allCases.first { self.name(of: $0) == name }
  }

  /// The spelling of a default action in `getdefault` / `setdefault` (`accept`, `block`).
  static func defaultName(of action: PolicyAction) -> String {
    action == .allow ? "accept" : "block"
  }

  /// A default action as `getdefault` prints it; `allow` is `ip`'s synonym for `accept`.
  static func defaultAction(named name: String) -> PolicyAction? {
    switch name {
    case "accept", "allow": .allow
    case "block": .block
    default: nil
    }
  }

  /// The template `share` values (`strxf_share`).
  static let shareNames: Set<String> = ["any", "session", "user", "unique"]

  /// Policy flags (`XFRM_POLICY_LOCALOK`, `XFRM_POLICY_ICMP`).
  static let policyFlagNames: Set<String> = ["localok", "icmp"]

  /// SA flags, in the order `ip` prints them.
  static let stateFlagNames: Set<String> = [
    "noecn", "decap-dscp", "nopmtudisc", "wildrecv", "icmp", "af-unspec", "align4", "esn",
  ]

  /// SA extra flags (`XFRMA_SA_EXTRA_FLAGS`).
  static let stateExtraFlagNames: Set<String> = ["dont-encap-dscp", "oseq-may-wrap"]
}
