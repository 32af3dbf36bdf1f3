#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Interface names and indexes as the C library knows them in the calling process's network
/// namespace (`if_nametoindex`, `if_indextoname`). `ip xfrm` prints a selector's `dev` by name;
/// the reader and writer convert through these unless a caller supplies its own table.
public enum IPXfrmInterfaceNames {
  /// The index of the interface called `name`, or nil when there is none.
  public static func index(named name: String) -> UInt32? {
    let index = if_nametoindex(name)
    return index == 0 ? nil : UInt32(index)
  }

  /// The name of the interface with `index`, or nil when there is none.
  public static func name(ofIndex index: UInt32) -> String? {
    guard index != 0 else { return nil }
    // IF_NAMESIZE is 16 on Linux and the BSDs; leave room for the terminating NUL.
    var buffer = [CChar](repeating: 0, count: 64)
    let found = buffer.withUnsafeMutableBufferPointer { pointer -> Bool in
      guard let base = pointer.baseAddress else { return false }
      return if_indextoname(index, base) != nil
    }
    guard found else { return nil }
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// The name `ip` prints for an index it cannot name (`ll_index_to_name`: `if%u`).
  static func fallbackName(_ index: UInt32) -> String { "if\(index)" }

  /// The index encoded in a fallback name (`if7` → 7), if `name` is one.
  static func indexFromFallbackName(_ name: String) -> UInt32? {
    guard name.hasPrefix("if") else { return nil }
    let digits = name.dropFirst(2)
    guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
          let value = UInt32(digits), value != 0 else { return nil }
    return value
  }
}
