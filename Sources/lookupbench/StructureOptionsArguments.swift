import ArgumentParser
import Lookup

/// Command-line settings for structures whose names do not carry them (`cache+…`, `hashed`).
struct StructureOptionsArguments: ParsableArguments {
  @Option(help: "Entries in a cache+ structure's flow cache (a power of two).")
  var cacheCapacity: Int = 1 << 12

  @Option(help: "Ways per set of the flow cache: 1, 2, 4 or 8 (direct mapping uses 1).")
  var cacheWays: Int = 4

  @Option(help: "Flow cache replacement: direct, lru, clock or idle.")
  var cacheReplacement: String = "lru"

  @Option(help: "Flow cache invalidation: generation or targeted.")
  var cacheInvalidation: String = "targeted"

  @Option(help: "Idle timeout of the idle replacement, in logical ticks.")
  var cacheIdleTimeout: UInt32 = 1_000

  @Option(help: "hashed: IPv4 hash thresholds as LOCAL,REMOTE bits (the kernel's hthresh4; default 32,32).")
  var hthresh4: String = "32,32"

  @Option(help: "hashed: IPv6 hash thresholds as LOCAL,REMOTE bits (the kernel's hthresh6; default 128,128).")
  var hthresh6: String = "128,128"

  /// The options, validated (typed errors for bad values).
  func options() throws -> StructureOptions {
    guard let replacement = CacheReplacement(rawValue: cacheReplacement) else {
      throw ValidationError("--cache-replacement must be one of \(CacheReplacement.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    guard let invalidation = CacheInvalidation(rawValue: cacheInvalidation) else {
      throw ValidationError("--cache-invalidation must be one of \(CacheInvalidation.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    func pair(_ text: String, _ flag: String) throws -> (Int, Int) {
      let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
      guard parts.count == 2, let local = parts[0], let remote = parts[1] else {
        throw ValidationError("\(flag) takes LOCAL,REMOTE (two prefix lengths), e.g. 24,24; got '\(text)'")
      }
      return (local, remote)
    }
    let (l4, r4) = try pair(hthresh4, "--hthresh4")
    let (l6, r6) = try pair(hthresh6, "--hthresh6")
    return StructureOptions(
      cache: try FlowCacheConfiguration(capacity: cacheCapacity, associativity: cacheWays, replacement: replacement,
                                        invalidation: invalidation, idleTimeout: cacheIdleTimeout),
      hashThresholds: try HashThresholds(ipv4Local: l4, ipv4Remote: r4, ipv6Local: l6, ipv6Remote: r6))
  }
}
