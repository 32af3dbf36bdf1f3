/// Key arithmetic on left-aligned prefixes of `Bits` (UInt32 for IPv4, UInt128 for IPv6).
@usableFromInline
enum RadixKey<Bits: FixedWidthInteger & UnsignedInteger & Sendable & BitwiseCopyable> {
  /// The family's bits of a left-aligned 128-bit address (`IPAddress`).
  @inlinable @inline(__always)
  static func bits(_ address: UInt128) -> Bits {
    Bits(truncatingIfNeeded: address &>> UInt128(128 - Bits.bitWidth))
  }

  /// The top `length` bits set.
  @inlinable @inline(__always)
  static func mask(_ length: Int) -> Bits {
    length == 0 ? 0 : ~Bits(0) &<< (Bits.bitWidth - length)
  }

  /// Bit number `position` (0 = most significant); `position < Bits.bitWidth`.
  @inlinable @inline(__always)
  static func bit(_ key: Bits, _ position: Int) -> Bool {
    (key &>> (Bits.bitWidth - 1 - position)) & 1 != 0
  }

  /// Whether the top `length` bits of `key` equal `prefix`'s (the prefix contains the key).
  @inlinable @inline(__always)
  static func contains(_ prefix: Bits, _ length: UInt8, _ key: Bits) -> Bool {
    (key ^ prefix).leadingZeroBitCount >= Int(length)
  }
}
