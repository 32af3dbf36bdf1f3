/// A DSCP selector: any, or one code point 0...63.
///
/// **Lookup extension**: the kernel's selector has no DSCP field and never matches on TOS.
/// The default, `.any`, cannot change an answer the kernel would give. PFP and per-DSCP SAs
/// (RFC 4301 §4.1) use it.
public struct DSCPSelector: Hashable, Sendable {
  @usableFromInline internal let _raw: UInt8  // 0xFF = any

  public static let any = DSCPSelector(_raw: 0xFF)

  @inlinable internal init(_raw: UInt8) { self._raw = _raw }

  /// One DSCP value.
  /// - Throws: `LookupError.invalidDSCP` when `value` is outside 0...63.
  @inlinable
  public init(_ value: Int) throws(LookupError) {
    guard (0...63).contains(value) else { throw .invalidDSCP(value) }
    self._raw = UInt8(value)
  }

  @inlinable public var isAny: Bool { _raw == 0xFF }
  @inlinable public var value: UInt8? { isAny ? nil : _raw }

  @inlinable @inline(__always)
  public func matches(_ dscp: UInt8) -> Bool { _raw == 0xFF || _raw == dscp }
}
