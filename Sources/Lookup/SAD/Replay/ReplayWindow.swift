// ReplayWindow — the anti-replay check of RFC 4303 §3.4.3 (and Linux's `xfrm_replay_bmp`
// and ESN modes), for windows of 32 … 4096 packets with 64-bit sequence numbers.
//
// Idea
//   The receiver remembers the highest sequence number it has accepted and one bit per
//   number in the window below it. A number above the highest is new (the window slides
//   forward, clearing the bits it passes); a number at least `size` below the highest is
//   too old; a number inside the window is new exactly when its bit is clear. Sequence
//   number 0 is never valid (the first packet carries 1).
//
//   The bits live in a circular bitmap of `2^k ≥ size` bits (position = number mod 2^k), so
//   sliding by d clears d bits and never moves the others (the kernel's bmp/ESN layout).
//   With extended sequence numbers the packet carries only the low 32 bits;
//   `sequenceNumber(forLow:)` infers the high half as RFC 4303 Appendix A2 does.
//
// Complexity
//   check O(1); check-and-update O(1) plus the words the window slides over (a jump of more
//   than the window clears the whole bitmap once).
//
// Memory
//   2^k / 8 bytes (8 … 512), allocated when the window is created, never on a check.
//
// Thread safety
//   A value type; one window per SA, updated by the thread that owns the SA's receive path.

/// What the replay check says about a sequence number.
public enum ReplayVerdict: UInt8, Hashable, Sendable, CaseIterable {
  /// New: inside or above the window and not seen before.
  case accepted
  /// Inside the window and already seen.
  case duplicate
  /// At least `size` below the highest number seen.
  case tooOld
  /// Sequence number 0 (never sent).
  case zero
}

/// How many numbers a window has accepted and rejected, by reason.
public struct ReplayCounters: Hashable, Sendable {
  public var accepted = 0
  public var duplicates = 0
  public var tooOld = 0
  public var zero = 0
  public init() {}
  /// Every rejected number.
  public var rejected: Int { duplicates + tooOld + zero }
}

/// An anti-replay window (RFC 4303 §3.4.3). See the file comment.
public struct ReplayWindow: Sendable {
  /// The window sizes the kernel accepts with a bitmap (`XFRMA_REPLAY_ESN_MAX` = 4096).
  public static let sizes: ClosedRange<Int> = 32...4096

  /// The window size in packets.
  public let size: Int
  /// The highest sequence number accepted so far (0 before the first).
  @inlinable public var highest: UInt64 { _highest }
  /// What `checkAndUpdate` has decided so far.
  @inlinable public var counters: ReplayCounters { _counters }
  @usableFromInline internal var _highest: UInt64 = 0
  @usableFromInline internal var _counters = ReplayCounters()
  @usableFromInline internal var _words: [UInt64]
  /// The bitmap size in bits minus one (a power of two minus one).
  @usableFromInline internal let _positionMask: UInt64

  /// A window of `size` packets.
  /// - Throws: `LookupError.invalidReplayWindow` outside 32 … 4096.
  public init(size: Int) throws(LookupError) {
    guard Self.sizes.contains(size) else { throw .invalidReplayWindow(size) }
    self.size = size
    var bits = 64
    while bits < size { bits <<= 1 }
    _words = Array(repeating: 0, count: bits / 64)
    _positionMask = UInt64(bits - 1)
  }

  /// The verdict for `sequence` without changing the window (the check before decryption).
  @inlinable
  public func check(_ sequence: UInt64) -> ReplayVerdict {
    if sequence == 0 { return .zero }
    if sequence > highest { return .accepted }
    if highest - sequence >= UInt64(size) { return .tooOld }
    let position = sequence & _positionMask
    return _words[Int(position &>> 6)] & (1 &<< (position & 63)) != 0 ? .duplicate : .accepted
  }

  /// Checks `sequence` and, when it is accepted, records it and slides the window (the
  /// kernel's recheck-and-advance after the ICV verified). Counts the verdict.
  @inlinable
  @discardableResult
  public mutating func checkAndUpdate(_ sequence: UInt64) -> ReplayVerdict {
    let verdict = check(sequence)
    switch verdict {
    case .accepted:
      _counters.accepted &+= 1
      if sequence > highest { _slide(to: sequence) }
      let position = sequence & _positionMask
      _words[Int(position &>> 6)] |= 1 &<< (position & 63)
    case .duplicate: _counters.duplicates &+= 1
    case .tooOld: _counters.tooOld &+= 1
    case .zero: _counters.zero &+= 1
    }
    return verdict
  }

  /// Clears the positions of the numbers in (highest, sequence] and makes `sequence` the highest.
  @inlinable
  internal mutating func _slide(to sequence: UInt64) {
    let distance = sequence - highest
    if distance > _positionMask {
      for i in _words.indices { _words[i] = 0 }
    } else {
      var position = (highest &+ 1) & _positionMask
      var remaining = distance
      while remaining > 0 {
        let bit = position & 63
        let run = min(64 - bit, remaining)
        let bits: UInt64 = run == 64 ? ~0 : ((1 &<< run) &- 1) &<< bit
        _words[Int(position &>> 6)] &= ~bits
        position = (position &+ run) & _positionMask
        remaining -= run
      }
    }
    _highest = sequence
  }

  /// The full 64-bit sequence number of a packet carrying the low 32 bits `low`, inferred
  /// from the window as RFC 4303 Appendix A2.2 does; nil when the inferred number would be
  /// below 0 (a packet from before the first subspace).
  @inlinable
  public func sequenceNumber(forLow low: UInt32) -> UInt64? {
    let topLow = UInt32(truncatingIfNeeded: highest)
    let topHigh = highest >> 32
    let window = UInt32(size)
    let bottom = topLow &- window &+ 1  // Tl − W + 1 (mod 2^32)
    if topLow >= window - 1 {
      // The window lies inside one subspace.
      let high = low >= bottom ? topHigh : topHigh + 1
      return high << 32 | UInt64(low)
    } else {
      // The window spans the previous subspace and this one.
      if low >= bottom {
        guard topHigh > 0 else { return nil }
        return (topHigh - 1) << 32 | UInt64(low)
      }
      return topHigh << 32 | UInt64(low)
    }
  }

  /// The bytes the bitmap holds.
  public var memoryFootprint: Int { _words.capacity * 8 }
}
