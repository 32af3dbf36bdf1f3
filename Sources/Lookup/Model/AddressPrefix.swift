/// An address prefix (`10.0.0.0/8`, `2001:db8::/32`) as a selector holds it.
///
/// As in the kernel, the address is **kept as written**, host bits included: matching masks
/// them away, but two prefixes that differ only in host bits are different prefixes (and so
/// different selectors for the duplicate check). `10.1.2.3/8` and `10.0.0.0/8` match the same
/// packets and are not equal.
public struct AddressPrefix: Hashable, Sendable {
  /// The address as written, host bits included.
  public let address: IPAddress
  /// The prefix length, 0 ... the family's width. 0 matches every address of the family.
  public let length: UInt8

  /// Creates a prefix.
  /// - Throws: `LookupError.invalidPrefixLength` when `length` exceeds the family's width.
  @inlinable
  public init(address: IPAddress, length: Int) throws(LookupError) {
    guard length >= 0, length <= address.family.addressWidth else {
      throw .invalidPrefixLength(length, family: address.family)
    }
    self.address = address
    self.length = UInt8(length)
  }

  /// The prefix that matches every address of a family (`0.0.0.0/0`, `::/0`).
  @inlinable
  public static func any(_ family: AddressFamily) -> AddressPrefix {
    AddressPrefix(uncheckedAddress: .unspecified(family), length: 0)
  }

  /// A host prefix (/32 or /128) for one address.
  @inlinable
  public static func host(_ address: IPAddress) -> AddressPrefix {
    AddressPrefix(uncheckedAddress: address, length: address.family.addressWidth)
  }

  @inlinable
  internal init(uncheckedAddress: IPAddress, length: Int) {
    self.address = uncheckedAddress
    self.length = UInt8(length)
  }

  @inlinable public var family: AddressFamily { address.family }

  /// The left-aligned mask of the prefix (top `length` bits set).
  @inlinable public var mask: UInt128 { IPAddress.mask(length: Int(length)) }

  /// The address with host bits cleared.
  @inlinable public var network: UInt128 { address.bits & mask }

  /// Whether the prefix has host bits set beyond its length.
  @inlinable public var hasHostBits: Bool { address.bits & ~mask != 0 }

  /// Whether `bits` (a left-aligned address of the same family) lies inside the prefix.
  @inlinable @inline(__always)
  public func contains(_ bits: UInt128) -> Bool {
    (bits ^ address.bits) & mask == 0
  }

  /// Whether every address inside `other` is inside `self` (same family assumed).
  @inlinable
  public func covers(_ other: AddressPrefix) -> Bool {
    length <= other.length && contains(other.address.bits & other.mask)
  }
}
