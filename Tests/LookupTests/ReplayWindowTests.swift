import Testing
import Lookup

/// The obvious model: every number seen, and the highest.
private struct ReplayModel {
  let size: UInt64
  var seen = Set<UInt64>()
  var highest: UInt64 = 0

  mutating func checkAndUpdate(_ sequence: UInt64) -> ReplayVerdict {
    if sequence == 0 { return .zero }
    if sequence <= highest {
      if highest - sequence >= size { return .tooOld }
      if seen.contains(sequence) { return .duplicate }
    }
    seen.insert(sequence)
    highest = max(highest, sequence)
    return .accepted
  }
}

@Suite("ReplayWindow")
struct ReplayWindowTests {
  @Test func rejectsSizesOutsideTheKernelsRange() {
    #expect(throws: LookupError.invalidReplayWindow(31)) { try ReplayWindow(size: 31) }
    #expect(throws: LookupError.invalidReplayWindow(4097)) { try ReplayWindow(size: 4097) }
    #expect(throws: LookupError.invalidReplayWindow(0)) { try ReplayWindow(size: 0) }
    #expect((try? ReplayWindow(size: 4096)) != nil)
  }

  @Test func basicVerdicts() throws {
    var window = try ReplayWindow(size: 32)
    #expect(window.checkAndUpdate(0) == .zero)
    #expect(window.checkAndUpdate(1) == .accepted)
    #expect(window.checkAndUpdate(1) == .duplicate)
    #expect(window.checkAndUpdate(100) == .accepted)
    #expect(window.checkAndUpdate(69) == .accepted, "100 − 69 = 31 < 32: inside the window")
    #expect(window.checkAndUpdate(68) == .tooOld, "100 − 68 = 32: outside")
    #expect(window.checkAndUpdate(69) == .duplicate)
    #expect(window.counters == {
      var c = ReplayCounters()
      c.accepted = 3; c.duplicates = 2; c.tooOld = 1; c.zero = 1
      return c
    }())
  }

  @Test(arguments: [32, 33, 64, 100, 128, 1000, 1024, 4096])
  func agreesWithTheModelOnRandomSequences(size: Int) throws {
    for seed in UInt64(1)...4 {
      var rng = SeededGenerator(seed: seed &* 31 &+ UInt64(size))
      var window = try ReplayWindow(size: size)
      var model = ReplayModel(size: UInt64(size))
      // Start near the 32-bit boundary half the time, to cross it.
      var next: UInt64 = Bool.random(using: &rng) ? 0xFFFF_FF00 : 1
      for step in 0..<20_000 {
        let sequence: UInt64
        switch Int.random(in: 0..<20, using: &rng) {
        case 0: sequence = 0
        case 1: sequence = next &+ UInt64.random(in: 0...UInt64(3 * size), using: &rng)  // a jump
        case 2...6: sequence = next &- min(next, UInt64.random(in: 0...UInt64(2 * size), using: &rng))  // late or replayed
        default: sequence = next
        }
        next = max(next, sequence) + 1
        let expected = model.checkAndUpdate(sequence)
        #expect(window.check(sequence) == expected, "check and checkAndUpdate agree")
        let actual = window.checkAndUpdate(sequence)
        if actual != expected {
          Issue.record("size \(size) seed \(seed) step \(step): \(sequence) → \(actual), model says \(expected)")
          return
        }
      }
      #expect(window.highest == model.highest)
    }
  }

  @Test(arguments: [32, 64, 4096])
  func infersTheHighHalfOfExtendedSequenceNumbers(size: Int) throws {
    var rng = SeededGenerator(seed: UInt64(size))
    for _ in 0..<5_000 {
      var window = try ReplayWindow(size: size)
      // A highest number near a subspace boundary or anywhere.
      let high = UInt64.random(in: 1...5, using: &rng) << 32
      let top = Bool.random(using: &rng) ? high &+ UInt64.random(in: 0...UInt64(2 * size), using: &rng)
                                         : high &- UInt64.random(in: 0...UInt64(2 * size), using: &rng)
      window.checkAndUpdate(top)
      // Any number from inside the window up to 2^31 ahead is recovered from its low half.
      let sequence = Bool.random(using: &rng) ? top - UInt64.random(in: 0..<UInt64(size), using: &rng)
                                              : top + UInt64.random(in: 0..<(1 << 31), using: &rng)
      #expect(window.sequenceNumber(forLow: UInt32(truncatingIfNeeded: sequence)) == sequence, "top \(top)")
    }
  }
}
