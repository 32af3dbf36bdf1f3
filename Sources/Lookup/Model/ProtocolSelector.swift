/// The next-layer protocol of a selector: any, or one protocol number.
///
/// The kernel writes "any" as protocol 0 (`sel.proto == 0 || sel.proto == flow.proto`);
/// Lookup keeps "any" apart from protocol number 0 (IPv6 hop-by-hop) so that a ClassBench
/// rule `0x00/0xFF` is not silently widened. The `ip xfrm` writer refuses the one selector
/// the kernel cannot express (exactly protocol 0).
public struct ProtocolSelector: Hashable, Sendable {
  @usableFromInline internal let _raw: UInt16  // 0x100 = any, else the protocol number

  /// Matches every protocol.
  public static let any = ProtocolSelector(_raw: 0x100)

  @inlinable internal init(_raw: UInt16) { self._raw = _raw }

  /// Exactly one protocol number.
  @inlinable
  public static func number(_ value: UInt8) -> ProtocolSelector {
    ProtocolSelector(_raw: UInt16(value))
  }

  /// Creates a selector from an integer, validating its range.
  /// - Throws: `LookupError.invalidProtocol` when `value` is outside 0...255.
  @inlinable
  public init(checking value: Int) throws(LookupError) {
    guard (0...255).contains(value) else { throw .invalidProtocol(value) }
    self._raw = UInt16(value)
  }

  @inlinable public var isAny: Bool { _raw == 0x100 }

  /// The protocol number, or nil for "any".
  @inlinable public var number: UInt8? { isAny ? nil : UInt8(truncatingIfNeeded: _raw) }

  @inlinable @inline(__always)
  public func matches(_ proto: UInt8) -> Bool {
    _raw == 0x100 || _raw == UInt16(proto)
  }
}

/// Well-known IP protocol numbers used by selectors and flows.
public enum IPProtocolNumber {
  public static let icmp: UInt8 = 1
  public static let tcp: UInt8 = 6
  public static let udp: UInt8 = 17
  public static let gre: UInt8 = 47
  public static let esp: UInt8 = 50
  public static let ah: UInt8 = 51
  public static let icmpv6: UInt8 = 58
  public static let ipcomp: UInt8 = 108
  public static let sctp: UInt8 = 132
  public static let udpLite: UInt8 = 136
  public static let mobilityHeader: UInt8 = 135
}
