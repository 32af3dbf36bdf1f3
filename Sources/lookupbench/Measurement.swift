import Foundation
import Lookup

/// Keeps the optimiser from discarding lookups whose answers nobody reads.
nonisolated(unsafe) var measurementSink: UInt32 = 0

/// Monotonic nanoseconds.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// A lookup answer reduced to a number the timed loops add up, so the optimiser cannot drop
/// lookups whose answers nobody reads.
protocol LookupChecksum {
  var checksum: UInt32 { get }
}

extension PolicyLookupResult: LookupChecksum {
  var checksum: UInt32 { index }
}

extension SALookupResult: LookupChecksum {
  var checksum: UInt32 { id }
}

extension PFPLookupResult: LookupChecksum {
  var checksum: UInt32 { sa }
}

/// Nanoseconds per lookup of one pass of single lookups over `keys`.
func timeOnePass<D: LookupStructure>(_ structure: D, _ keys: [D.Key]) -> Double where D.Result: LookupChecksum {
  measureSingleLookups(structure, keys: keys, passes: 1)[0]
}

/// Nanoseconds per lookup of single lookups over `keys` in order, one figure per pass.
@inline(never)
func measureSingleLookups<D: LookupStructure>(_ structure: D, keys: [D.Key], passes: Int) -> [Double]
where D.Result: LookupChecksum {
  var figures: [Double] = []
  keys.withUnsafeBufferPointer { keys in
    for _ in 0..<passes {
      var checksum: UInt32 = 0
      let start = monotonicNanoseconds()
      for key in keys { checksum &+= structure.lookup(key).checksum }
      let elapsed = monotonicNanoseconds() - start
      measurementSink &+= checksum
      figures.append(Double(elapsed) / Double(max(keys.count, 1)))
    }
  }
  return figures
}

/// Nanoseconds per lookup of batch lookups (bursts of `batchSize` keys), one figure per pass.
@inline(never)
func measureBatchedLookups<D: LookupStructure>(_ structure: D, keys: [D.Key], batchSize: Int, passes: Int) -> [Double]
where D.Result: LookupChecksum {
  guard let firstKey = keys.first else { return Array(repeating: 0, count: passes) }
  var figures: [Double] = []
  var results = [D.Result](repeating: structure.lookup(firstKey), count: batchSize)
  keys.withUnsafeBufferPointer { keys in
    results.withUnsafeMutableBufferPointer { results in
      for _ in 0..<passes {
        var checksum: UInt32 = 0
        let start = monotonicNanoseconds()
        var offset = 0
        while offset < keys.count {
          let count = min(batchSize, keys.count - offset)
          let burst = UnsafeBufferPointer(rebasing: keys[offset..<(offset + count)])
          structure.lookup(burst, into: results)
          for i in 0..<count { checksum &+= results[i].checksum }
          offset += count
        }
        let elapsed = monotonicNanoseconds() - start
        measurementSink &+= checksum
        figures.append(Double(elapsed) / Double(max(keys.count, 1)))
      }
    }
  }
  return figures
}

/// The median of a non-empty list.
func median(_ values: [Double]) -> Double {
  let sorted = values.sorted()
  guard !sorted.isEmpty else { return .nan }
  return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// Whether this binary was built with optimisation (figures from debug builds are flagged).
var isOptimizedBuild: Bool {
  #if DEBUG
  false
  #else
  true
  #endif
}

/// One line describing where figures come from: machine, build, load.
func machineDescription() -> String {
  let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
    .split(separator: "\n").first { $0.hasPrefix("model name") }?
    .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
  let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
    .split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
  let cores = ProcessInfo.processInfo.activeProcessorCount
  return "\(cpu), \(cores) cores, load \(load), \(isOptimizedBuild ? "release" : "DEBUG (figures not meaningful)") build"
}

/// How busy the host was, probed beside the figures it qualifies. A shared machine's
/// neighbours change a figure by up to 2× from one hour to the next; the load average inside
/// the VM does not show it (it counts this VM's threads only). Two short dependent chains do:
/// loads through a random cycle over 16 MiB (beyond the private caches and most of a shared
/// L3 — the memory a 100k-policy structure lives in, so neighbours thrashing the L3 slow it
/// here first) and multiplies (CPU time taken away, clock changes). Figures measured next to
/// a high probe should be read as from a busy host. About 0.1 s.
struct MachineProbe {
  /// Nanoseconds per load in the pointer chase.
  var loadNanoseconds: Double
  /// Nanoseconds per step of a dependent multiply, shift and xor chain.
  var multiplyNanoseconds: Double

  static let chaseBytes = 16 << 20

  static func measure() -> MachineProbe {
    // One pointer per 64-byte line, the lines linked in one random cycle (each line points
    // to the next in a shuffled order), so each load's address comes from the previous load
    // and no prefetcher can guess it.
    let lines = chaseBytes / 64
    // On huge pages (as the structures' large tables are), so the probe times the caches and
    // memory, not page walks.
    let step = 64 / MemoryLayout<Int>.stride
    var storage = LineAlignedArray<Int>(repeating: 0, count: lines * step)
    var order = Array(0..<lines)
    var generator = SplitMix64(seed: 0x5EED)
    for i in stride(from: lines - 1, to: 0, by: -1) { order.swapAt(i, Int(generator.next() % UInt64(i))) }
    let (load, position) = storage.withUnsafeMutableBufferPointer { table -> (Double, Int) in
      for i in 0..<lines { table[order[i] * step] = order[(i + 1) % lines] * step }
      var position = 0
      for _ in 0..<lines { position = table[position] }  // one lap to warm what fits
      let steps = 1 << 19
      let start = monotonicNanoseconds()
      for _ in 0..<steps { position = table[position] }
      return (Double(monotonicNanoseconds() - start) / Double(steps), position)
    }
    var x = UInt64(truncatingIfNeeded: position) | 1
    let multiplies = 1 << 24
    let start = monotonicNanoseconds()
    // A shift and xor between the multiplies, so the optimiser cannot fold the chain.
    for _ in 0..<multiplies { x = (x ^ x &>> 29) &* 0x9E37_79B9_7F4A_7C15 }
    let multiply = Double(monotonicNanoseconds() - start) / Double(multiplies)
    measurementSink &+= UInt32(truncatingIfNeeded: x)
    return MachineProbe(loadNanoseconds: load, multiplyNanoseconds: multiply)
  }

  /// For a report's header.
  var description: String {
    String(format: "host probe: %.1f ns per dependent load in 16 MiB, %.2f ns per multiply-shift-xor step", loadNanoseconds,
           multiplyNanoseconds)
  }

  /// JSON fields (`probe_load_ns`, `probe_multiply_ns`).
  var jsonFields: [(String, String)] {
    [("probe_load_ns", String(format: "%.1f", loadNanoseconds)),
     ("probe_multiply_ns", String(format: "%.3f", multiplyNanoseconds))]
  }
}
