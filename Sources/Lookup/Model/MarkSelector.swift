/// A firewall-mark selector, value/mask: a mark `m` matches when `m & mask == value`.
///
/// This is the kernel's test for policies and SAs (`(flow.mark & pol.mark.m) == pol.mark.v`).
/// The default `(0, 0)` matches every mark. A value with bits outside the mask matches no
/// mark at all, exactly as in the kernel.
public struct MarkSelector: Hashable, Sendable {
  public var value: UInt32
  public var mask: UInt32

  public static let any = MarkSelector(value: 0, mask: 0)

  @inlinable
  public init(value: UInt32, mask: UInt32) {
    self.value = value
    self.mask = mask
  }

  @inlinable @inline(__always)
  public func matches(_ mark: UInt32) -> Bool { mark & mask == value }
}
