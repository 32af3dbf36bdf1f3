/// RFC 4301 §4.4.1.2 populate-from-packet flags of a policy, one per selector field, plus
/// Lookup's DSCP flag. A flagged field of the SA selector an ACQUIRE asks for is taken from
/// the packet that triggered it; an unflagged one from the policy.
///
/// Local and remote follow the policy's direction: for `out` the local side is the source,
/// for `in` and `fwd` it is the destination.
public struct PFPFlags: OptionSet, Hashable, Sendable, CaseIterable {
  public let rawValue: UInt8
  @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

  public static let localAddress = PFPFlags(rawValue: 1 << 0)
  public static let remoteAddress = PFPFlags(rawValue: 1 << 1)
  public static let proto = PFPFlags(rawValue: 1 << 2)
  public static let localPort = PFPFlags(rawValue: 1 << 3)
  public static let remotePort = PFPFlags(rawValue: 1 << 4)
  /// Lookup's extension: one SA per DSCP value (RFC 4301 §4.1's per-class SAs).
  public static let dscp = PFPFlags(rawValue: 1 << 5)

  /// The five RFC 4301 flags: one SA per 4-tuple and protocol.
  public static let fourTuple: PFPFlags = [.localAddress, .remoteAddress, .proto, .localPort, .remotePort]

  public static let allCases: [PFPFlags] = [.localAddress, .remoteAddress, .proto, .localPort, .remotePort, .dscp]

  /// The names used in text (`ip xfrm` dumps, the runner's options), in `allCases` order.
  public static let names = ["local-addr", "remote-addr", "proto", "local-port", "remote-port", "dscp"]

  /// The flag with a text name.
  public init?(name: String) {
    guard let at = Self.names.firstIndex(of: name) else { return nil }
    self = Self.allCases[at]
  }

  /// The names of the flags set, in `allCases` order.
  public var nameList: [String] {
    zip(Self.allCases, Self.names).filter { contains($0.0) }.map(\.1)
  }
}
