/// A selector on a 16-bit port field, in both of the forms IPsec uses.
///
/// - The kernel's **value/mask** form: a port `p` matches when `(p ^ value) & mask == 0`.
///   Any mask is allowed, including non-contiguous ones, and the value is kept as written
///   (bits outside the mask included), as `struct xfrm_selector` keeps it.
/// - The **inclusive range** form of RFC 4301 and ClassBench: `low <= p <= high`.
///
/// A range that is exactly one aligned power-of-two block (`1024...2047`, `80...80`,
/// `0...65535`) *is* a value/mask selector, and is stored as one, so the two spellings of
/// the same set compare equal. Other ranges (`1...1023`) are kept as ranges: that is
/// Lookup's extension beyond the kernel (SEMANTICS.md, rule 6). A value/mask selector whose
/// mask is contiguous (high bits set) converts exactly back to a range.
///
/// Matching is branch-free: the selector always stores both a value/mask pair and a
/// range; the unused form is the identity (`mask 0`, or `0...65535`).
///
/// For ICMP and ICMPv6 the source-port selector holds the ICMP **type** and the
/// destination-port selector the **code**, as in the kernel (SEMANTICS.md).
public struct PortSelector: Hashable, Sendable {
  /// The value of the value/mask form (0 for a range selector).
  public let value: UInt16
  /// The mask of the value/mask form (0 for a range selector).
  public let mask: UInt16
  /// The low end of the range form (0 for a value/mask selector).
  public let low: UInt16
  /// The high end of the range form (65535 for a value/mask selector).
  public let high: UInt16

  /// Matches every port.
  public static let any = PortSelector(value: 0, mask: 0)

  /// A value/mask selector, the kernel's form. The value is kept as written.
  @inlinable
  public init(value: UInt16, mask: UInt16) {
    self.init(_value: value, mask: mask, low: 0, high: .max)
  }

  @inlinable
  internal init(_value value: UInt16, mask: UInt16, low: UInt16, high: UInt16) {
    self.value = value
    self.mask = mask
    self.low = low
    self.high = high
  }

  /// One exact port (`mask 0xffff`).
  @inlinable
  public static func exactly(_ port: UInt16) -> PortSelector {
    PortSelector(value: port, mask: .max)
  }

  /// An inclusive range. Stored as value/mask when it is one aligned power-of-two block.
  /// - Throws: `LookupError.invalidPortRange` when `low > high`.
  @inlinable
  public init(low: UInt16, high: UInt16) throws(LookupError) {
    guard low <= high else { throw .invalidPortRange(low: Int(low), high: Int(high)) }
    let span = UInt32(high) - UInt32(low) + 1
    if span & (span - 1) == 0 && UInt32(low) % span == 0 {
      // One aligned block of `span` ports: the mask keeps the bits above the block.
      self.init(value: low, mask: UInt16(truncatingIfNeeded: ~(span - 1)))
    } else {
      self.init(_value: 0, mask: 0, low: low, high: high)
    }
  }

  /// An inclusive range from a Swift range. See `init(low:high:)`.
  @inlinable
  public init(_ range: ClosedRange<UInt16>) {
    // A ClosedRange always has lowerBound <= upperBound.
    do { try self.init(low: range.lowerBound, high: range.upperBound) } catch { self = .any }
  }

  /// Whether the selector is held in value/mask form (the kernel can express it).
  @inlinable public var isValueMask: Bool { low == 0 && high == .max }

  /// Whether every port matches.
  @inlinable public var isAny: Bool { mask == 0 && low == 0 && high == .max }

  /// The selector as an inclusive range, when one exists: always for a range selector, and
  /// for a value/mask selector whose mask is contiguous from the top bit.
  @inlinable
  public var range: ClosedRange<UInt16>? {
    if !isValueMask { return low...high }
    let inverted = ~mask
    guard inverted & (inverted &+ 1) == 0 else { return nil }  // mask is not 1…10…0
    let base = value & mask
    return base...(base | inverted)
  }

  /// The selector as value/mask, when it is expressible so (what `ip xfrm` can install).
  @inlinable
  public var valueMask: (value: UInt16, mask: UInt16)? {
    isValueMask ? (value, mask) : nil
  }

  /// Whether `port` matches.
  @inlinable @inline(__always)
  public func matches(_ port: UInt16) -> Bool {
    (port ^ value) & mask == 0 && port >= low && port <= high
  }
}
