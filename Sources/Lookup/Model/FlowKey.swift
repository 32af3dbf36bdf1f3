/// What a packet gives an SPD lookup: a small fixed-size value (exactly 64 bytes, one cache line).
///
/// Addresses are left-aligned 128-bit values (see `IPAddress`). The "ports" depend on the
/// protocol, as in the kernel's flow dissector: TCP, UDP, UDP-Lite and SCTP ports; ICMP and
/// ICMPv6 **type in `sourcePort`, code in `destinationPort`**; the IPv6 mobility header's
/// type in `sourcePort`; GRE's key split high/low; 0/0 for anything else. Use the
/// `icmp(...)`/`gre(...)` helpers to build such keys.
///
/// Direction and policy type are part of the key because the kernel looks up per direction
/// and type. `namespace` is Lookup's per-VM context id (0 = the default context); `dscp` is
/// Lookup's extension (not matched by the kernel).
public struct FlowKey: Hashable, Sendable {
  public var source: UInt128
  public var destination: UInt128
  public var mark: UInt32
  public var interfaceID: UInt32
  public var ifindex: UInt32
  public var namespace: UInt32
  public var sourcePort: UInt16
  public var destinationPort: UInt16
  public var proto: UInt8
  public var dscp: UInt8
  public var family: AddressFamily
  public var direction: PolicyDirection
  public var policyType: PolicyType
  /// Zero bytes that make the key exactly 64 bytes: copied as four 16-byte moves, so that
  /// a loop copying keys out of an array never reads a word that straddles two of the
  /// copy's stores (a 57-byte key is copied with overlapping moves, and the CPU cannot
  /// forward such a store to a following load: a stall of ~20 cycles per key).
  @usableFromInline var _padding0: UInt8 = 0
  @usableFromInline var _padding1: UInt16 = 0
  @usableFromInline var _padding2: UInt32 = 0

  /// Creates a flow key. Both addresses must be of one family.
  @inlinable
  public init(
    source: IPAddress,
    destination: IPAddress,
    sourcePort: UInt16 = 0,
    destinationPort: UInt16 = 0,
    proto: UInt8 = 0,
    direction: PolicyDirection = .out,
    policyType: PolicyType = .main,
    mark: UInt32 = 0,
    interfaceID: UInt32 = 0,
    ifindex: UInt32 = 0,
    dscp: UInt8 = 0,
    namespace: UInt32 = 0
  ) {
    precondition(source.family == destination.family, "flow addresses of different families")
    self.source = source.bits
    self.destination = destination.bits
    self.mark = mark
    self.interfaceID = interfaceID
    self.ifindex = ifindex
    self.namespace = namespace
    self.sourcePort = sourcePort
    self.destinationPort = destinationPort
    self.proto = proto
    self.dscp = dscp
    self.family = source.family
    self.direction = direction
    self.policyType = policyType
  }

  /// An ICMP (IPv4) or ICMPv6 (IPv6) flow: type in the source port, code in the destination port.
  @inlinable
  public static func icmp(source: IPAddress, destination: IPAddress, type: UInt8, code: UInt8,
                          direction: PolicyDirection = .out) -> FlowKey {
    FlowKey(source: source, destination: destination, sourcePort: UInt16(type), destinationPort: UInt16(code),
            proto: source.family == .ipv4 ? IPProtocolNumber.icmp : IPProtocolNumber.icmpv6, direction: direction)
  }

  /// A GRE flow: the key's high 16 bits in the source port, the low 16 bits in the destination port.
  @inlinable
  public static func gre(source: IPAddress, destination: IPAddress, key: UInt32,
                         direction: PolicyDirection = .out) -> FlowKey {
    FlowKey(source: source, destination: destination, sourcePort: UInt16(truncatingIfNeeded: key >> 16),
            destinationPort: UInt16(truncatingIfNeeded: key), proto: IPProtocolNumber.gre, direction: direction)
  }

  @inlinable public var sourceAddress: IPAddress { IPAddress(bits: source, family: family) }
  @inlinable public var destinationAddress: IPAddress { IPAddress(bits: destination, family: family) }
}
