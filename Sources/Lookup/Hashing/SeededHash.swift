/// The fast seeded hash every table Lookup owns uses (not `Hasher`: it is slower, and its
/// per-process seed is not a per-table one).
///
/// A multiply–xorshift mix (two rounds of the murmur3/splitmix finaliser) folded over 64-bit
/// words. Each table draws its own random seed, so a flow set crafted to collide in one
/// table does not collide in another (or in the same table after a restart).
public enum SeededHash {
  /// One word mixed with a running state.
  @inlinable @inline(__always)
  public static func mix(_ state: UInt64, _ word: UInt64) -> UInt64 {
    var h = (state ^ word) &* 0x9E37_79B9_7F4A_7C15
    h ^= h &>> 32
    h &*= 0xD6E8_FEB8_6659_FD93
    h ^= h &>> 32
    return h
  }

  /// `a × b` as a full 128-bit product, its halves XORed (wyhash's "mum"): one multiply, for
  /// a one-word key XORed with a secret and multiplied by a second secret (odd) word.
  @inlinable @inline(__always)
  public static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let product = a.multipliedFullWidth(by: b)
    return product.high ^ product.low
  }

  /// A 128-bit value mixed in as two words.
  @inlinable @inline(__always)
  public static func mix(_ state: UInt64, _ value: UInt128) -> UInt64 {
    mix(mix(state, UInt64(truncatingIfNeeded: value &>> 64)), UInt64(truncatingIfNeeded: value))
  }

  /// A fresh random seed from the system generator, or a fixed one when the process runs with
  /// `LOOKUP_DETERMINISTIC_HASHING=1` (for reproducing a failure, never for production).
  public static func randomSeed() -> UInt64 {
    deterministic ? 0x5EED_0F_100C_0D0E : UInt64.random(in: .min ... .max)
  }

  /// Whether seeds are fixed (see `randomSeed()`).
  public static let deterministic: Bool = {
    guard let value = getenv("LOOKUP_DETERMINISTIC_HASHING") else { return false }
    return String(cString: value) == "1"
  }()
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
