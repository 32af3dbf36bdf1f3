/// Why `IPXfrmWriter.batch` cannot turn a policy or SA into `ip -batch` lines: the value is
/// valid in Lookup but `ip xfrm` (or the kernel behind it) cannot express it. Names the entry
/// (its position in the input and the value itself) and the reason.
public struct IPXfrmWriteError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The entry that cannot be written.
  public enum Entry: Hashable, Sendable {
    /// The policy at `position` (0-based) of the `policies` argument.
    case policy(position: Int, Policy)
    /// The SA at `position` (0-based) of the `securityAssociations` argument.
    case securityAssociation(position: Int, SecurityAssociation)
  }

  /// Which port field of a selector (for ICMP: source = type, destination = code).
  public enum PortField: String, Hashable, Sendable {
    case source
    case destination
  }

  /// What `ip xfrm` cannot express.
  public enum Reason: Hashable, Sendable {
    /// A port range that is not one value/mask block (a Lookup extension).
    case portRange(PortField, low: UInt16, high: UInt16)
    /// A port value/mask whose mask is not 0xffff: `ip` only writes exact ports.
    case portMask(PortField, value: UInt16, mask: UInt16)
    /// Exactly port 0: `ip` reads `sport 0` as "any port".
    case exactPortZero(PortField)
    /// A port selector on a protocol for which `ip` refuses `sport`/`dport` (it takes them
    /// only with tcp, udp, sctp, dccp or no protocol).
    case portsNotAllowed(PortField, proto: UInt8)
    /// An ICMP/ICMPv6/mobility-header type or code above 255 (`ip` takes 0...255).
    case typeCodeTooLarge(PortField, value: UInt16)
    /// A GRE selector with one key half exact and the other not: `ip` writes the whole
    /// 32-bit key or nothing.
    case partialGREKey
    /// Exactly protocol 0: the kernel's protocol 0 means "any".
    case exactProtocolZero
    /// A DSCP selector other than any (a Lookup extension; the kernel has no DSCP field).
    case dscp(UInt8)
    /// Populate-from-packet flags (a Lookup extension; the kernel has none).
    case populateFromPacket(PFPFlags)
    /// A selector interface index with no name (`ip` names the device).
    case unknownInterface(UInt32)
    /// A mark with a value but mask 0: `ip` sends no mark when the mask is 0.
    case markWithoutMask(value: UInt32)
    /// An explicit policy index whose low three bits are not the direction (the kernel refuses it).
    case indexDirectionMismatch(index: UInt32)
    /// More templates than the kernel's `XFRM_MAX_DEPTH` (6).
    case tooManyTemplates(Int)
    /// A template whose addresses are not of its `family`.
    case templateFamilyMismatch(template: Int)
    /// A transport-mode template whose family differs from the previous template's (or the
    /// selector's): the kernel refuses the family change ("Mode in template doesn't support a
    /// family change").
    case templateFamilyChange(template: Int)
    /// An optional (`level use`) tunnel or BEET template in an `out` policy: current kernels
    /// refuse it ("Mode in optional template not allowed in outbound policy", measured on 6.18).
    case optionalTemplateInOutbound(template: Int)
    /// An IPcomp template whose CPI is above 0xffff (`ip` refuses it).
    case templateCPITooLarge(template: Int, spi: UInt32)
    /// An SA in a per-VM SPI namespace other than 0 (a Lookup extension).
    case namespace(UInt32)
    /// An SA mode `ip` refuses for the protocol (BEET is ESP only).
    case modeNotAllowed(IPsecMode, IPsecProtocol)
    /// A replay window above 32 on an IPcomp SA: only ESP and AH take the ESN state that
    /// larger windows need.
    case replayWindowTooLarge(UInt32, IPsecProtocol)
  }

  /// The policy or SA that cannot be written, with its position in the input.
  public var entry: Entry
  /// What `ip xfrm` cannot express about it.
  public var reason: Reason

  /// Creates an error for `entry`.
  public init(entry: Entry, reason: Reason) {
    self.entry = entry
    self.reason = reason
  }

  /// The entry (position, selector, direction and priority, or SA endpoints and SPI) and the
  /// reason, fit for a user.
  public var description: String {
    let what: String
    switch entry {
    case .policy(let position, let policy):
      what = "policy #\(position) (\(IPXfrmWriter.selectorText(policy.selector, interfaceName: { _ in nil }))"
        + "dir \(IPXfrmTokens.name(of: policy.direction)) priority \(policy.priority))"
    case .securityAssociation(let position, let sa):
      what = "SA #\(position) (\(sa.source) → \(sa.destination) \(IPXfrmTokens.name(of: sa.proto)) "
        + "spi 0x\(IPXfrmWriter.hex8(sa.spi)))"
    }
    return "\(what) cannot be written for ip xfrm: \(reasonText)"
  }

  private var reasonText: String {
    switch reason {
    case .portRange(let field, let low, let high):
      "the \(field.rawValue) port range \(low)-\(high) is not one value/mask block"
    case .portMask(let field, let value, let mask):
      "the \(field.rawValue) port \(value) has mask 0x\(String(mask, radix: 16)); ip writes only exact ports"
    case .exactPortZero(let field):
      "the \(field.rawValue) port is exactly 0, which ip reads as any port"
    case .portsNotAllowed(let field, let proto):
      "ip takes no \(field.rawValue) port with protocol \(IPXfrmTokens.protocolName(proto))"
    case .typeCodeTooLarge(let field, let value):
      "the \(field == .source ? "type" : "code") \(value) is above 255"
    case .partialGREKey:
      "the GRE key is exact in one half only; ip writes the whole 32-bit key"
    case .exactProtocolZero:
      "the protocol is exactly 0, which the kernel reads as any protocol"
    case .dscp(let value):
      "the DSCP selector \(value) is a Lookup extension the kernel does not have"
    case .populateFromPacket(let flags):
      "populate-from-packet flags (\(flags.nameList.joined(separator: ", "))) are a Lookup extension the kernel does not have"
    case .unknownInterface(let index):
      "no interface has index \(index)"
    case .markWithoutMask(let value):
      "the mark 0x\(String(value, radix: 16)) has mask 0; ip sends no mark then"
    case .indexDirectionMismatch(let index):
      "the index \(index) does not carry the direction in its low three bits"
    case .tooManyTemplates(let count):
      "\(count) templates; the kernel allows at most \(Policy.maximumTemplates)"
    case .templateFamilyMismatch(let template):
      "template #\(template) has addresses of another family than its own"
    case .templateFamilyChange(let template):
      "template #\(template) is transport mode but changes the address family"
    case .optionalTemplateInOutbound(let template):
      "template #\(template) is an optional tunnel/BEET template in an out policy, which the kernel refuses"
    case .templateCPITooLarge(let template, let spi):
      "template #\(template) has IPcomp CPI 0x\(String(spi, radix: 16)), above 0xffff"
    case .namespace(let namespace):
      "the SPI namespace \(namespace) is a Lookup extension; the kernel has only namespace 0"
    case .modeNotAllowed(let mode, let proto):
      "mode \(IPXfrmTokens.name(of: mode)) is not allowed with \(IPXfrmTokens.name(of: proto))"
    case .replayWindowTooLarge(let window, let proto):
      "a replay window of \(window) needs ESN state, which \(IPXfrmTokens.name(of: proto)) does not take"
    }
  }
}
