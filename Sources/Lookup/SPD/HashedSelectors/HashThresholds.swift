/// The kernel's policy hash thresholds (`ip xfrm policy set hthresh4 LBITS RBITS hthresh6
/// LBITS RBITS`): a policy goes into the exact hash table when both its prefixes are at least
/// this long, and the table hashes addresses masked to these lengths.
///
/// `local` and `remote` map onto source and destination by direction, as in the kernel: for
/// `out`, the destination is remote and the source local; for `in` and `fwd` the reverse.
/// The defaults, 32/32 and 128/128, hash only host-to-host policies.
public struct HashThresholds: Hashable, Sendable {
  public let ipv4Local: UInt8
  public let ipv4Remote: UInt8
  public let ipv6Local: UInt8
  public let ipv6Remote: UInt8

  /// The kernel's defaults.
  public static let kernelDefault = HashThresholds(unchecked: 32, 32, 128, 128)

  /// - Throws: `LookupError.invalidPrefixLength` for IPv4 bits above 32 or IPv6 bits above 128.
  public init(ipv4Local: Int = 32, ipv4Remote: Int = 32, ipv6Local: Int = 128, ipv6Remote: Int = 128)
  throws(LookupError) {
    for bits in [ipv4Local, ipv4Remote] where !(0...32).contains(bits) {
      throw .invalidPrefixLength(bits, family: .ipv4)
    }
    for bits in [ipv6Local, ipv6Remote] where !(0...128).contains(bits) {
      throw .invalidPrefixLength(bits, family: .ipv6)
    }
    self.init(unchecked: UInt8(ipv4Local), UInt8(ipv4Remote), UInt8(ipv6Local), UInt8(ipv6Remote))
  }

  @inlinable
  init(unchecked ipv4Local: UInt8, _ ipv4Remote: UInt8, _ ipv6Local: UInt8, _ ipv6Remote: UInt8) {
    self.ipv4Local = ipv4Local
    self.ipv4Remote = ipv4Remote
    self.ipv6Local = ipv6Local
    self.ipv6Remote = ipv6Remote
  }

  /// The (source, destination) bits for a rule context (family and direction).
  @inlinable
  public func bits(context: UInt8) -> (source: UInt8, destination: UInt8) {
    let ipv6 = context & 1 != 0
    let (local, remote) = ipv6 ? (ipv6Local, ipv6Remote) : (ipv4Local, ipv4Remote)
    let outbound = context &>> 4 & 3 == PolicyDirection.out.rawValue
    return outbound ? (local, remote) : (remote, local)
  }

  /// Whether a rule belongs in the exact table.
  @inlinable
  public func isExact(_ rule: PolicyRule) -> Bool {
    let (source, destination) = bits(context: rule.context)
    return rule.sourceLength >= source && rule.destinationLength >= destination
  }
}
