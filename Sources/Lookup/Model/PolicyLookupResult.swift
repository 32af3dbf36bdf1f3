/// The answer of an SPD lookup: the winning policy's index and action, or — when no policy
/// matched — index 0 and the direction's default action. Eight bytes, so caches and batch
/// buffers stay small.
public struct PolicyLookupResult: Hashable, Sendable {
  /// The matching policy's index; 0 = no policy matched (the kernel never uses index 0).
  public var index: UInt32
  public var action: PolicyAction

  @inlinable
  public init(index: UInt32, action: PolicyAction) {
    self.index = index
    self.action = action
  }

  /// No policy matched; `action` is the direction's default.
  @inlinable
  public static func noMatch(_ defaultAction: PolicyAction) -> PolicyLookupResult {
    PolicyLookupResult(index: 0, action: defaultAction)
  }

  @inlinable public var matched: Bool { index != 0 }
}
