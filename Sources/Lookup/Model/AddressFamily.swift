/// The address family of an address, a prefix, a selector or a flow.
///
/// Lookup never matches across families: an IPv4 flow is only compared with IPv4 selectors
/// (SEMANTICS.md, rule 1). The raw values are the Linux `AF_INET` / `AF_INET6` numbers.
public enum AddressFamily: UInt8, Hashable, Sendable, CaseIterable {
  case ipv4 = 2
  case ipv6 = 10

  /// The number of bits in an address of this family (32 or 128).
  @inlinable
  public var addressWidth: Int {
    self == .ipv4 ? 32 : 128
  }
}
