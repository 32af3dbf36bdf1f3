/// An IPv4 or IPv6 address in one 128-bit representation, with its family kept.
///
/// The address bits are stored **left-aligned**: an IPv6 address is its 128 bits as they
/// appear on the wire (most significant bit first), an IPv4 address occupies the top 32 bits
/// and the low 96 bits are zero. With this layout the mask of a prefix of length `n` is the
/// same expression for both families (the top `n` bits set), so prefix tests, tries and
/// hashes need no family-specific code.
///
/// The all-zero address of a family is the kernel's "unspecified" address (`0.0.0.0`, `::`),
/// which templates and security associations use as a wildcard.
///
/// Parsing and printing live in `Formats` (`IPAddress(parsing:)`, `description`).
public struct IPAddress: Hashable, Sendable {
  /// The address bits, left-aligned (see the type's discussion).
  public var bits: UInt128
  /// The address family.
  public var family: AddressFamily

  /// Creates an address from left-aligned bits. Bits beyond the family's width must be zero.
  @inlinable
  public init(bits: UInt128, family: AddressFamily) {
    precondition(family == .ipv6 || bits & ~IPAddress.mask(length: 32) == 0,
                 "IPv4 address with bits set beyond /32")
    self.bits = bits
    self.family = family
  }

  /// An IPv4 address from its 32-bit value in host order (`a.b.c.d` = a·2²⁴ + b·2¹⁶ + c·2⁸ + d).
  @inlinable
  public init(ipv4 value: UInt32) {
    self.bits = UInt128(value) &<< 96
    self.family = .ipv4
  }

  /// An IPv6 address from its 128-bit value (most significant bit first).
  @inlinable
  public init(ipv6 value: UInt128) {
    self.bits = value
    self.family = .ipv6
  }

  /// The unspecified address of a family (`0.0.0.0` or `::`).
  @inlinable
  public static func unspecified(_ family: AddressFamily) -> IPAddress {
    IPAddress(bits: 0, family: family)
  }

  /// Whether this is the unspecified address of its family.
  @inlinable
  public var isUnspecified: Bool { bits == 0 }

  /// The IPv4 value in host order; only meaningful when `family == .ipv4`.
  @inlinable
  public var ipv4Value: UInt32 { UInt32(truncatingIfNeeded: bits &>> 96) }

  /// The mask with the top `length` bits of 128 set (`length` in 0...128).
  @inlinable @inline(__always)
  public static func mask(length: Int) -> UInt128 {
    length <= 0 ? 0 : (length >= 128 ? ~0 : ~(UInt128.max &>> UInt128(length)))
  }
}
