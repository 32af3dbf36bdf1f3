import ArgumentParser
import Foundation
import Lookup

/// `lookupbench sad`: inbound SA lookup cost, update rates and memory per SAD structure, and
/// the cost of the anti-replay check.
struct SADBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sad",
    abstract: "Measure SAD structures: ns per inbound lookup (single and batch), updates, memory; replay checks.",
    discussion: """
      For each size and namespace count, SAs get random SPIs (ESP) and one of 16 local \
      destinations; with N namespaces, SA i lives in namespace i mod N and SPIs are drawn from \
      a pool of size/N values, so every SPI recurs in about N namespaces (deliberate \
      collisions). Lookups are uniformly random existing SAs in random order (no locality), \
      plus --miss-percent unknown SPIs. Figures: insert rate (building the table), delete and \
      re-insert rate (a random 10 %), median ns per lookup over --passes passes, single and in \
      bursts of 64, and bytes per SA. Then the replay window: ns per check-and-update for a \
      mostly in-order sequence with 1 % late packets. --json FILE writes one JSON object per \
      line (keys: structure, mode, sas, namespaces, lookups, insert_per_s, delete_per_s, \
      ns_per_lookup, ns_per_lookup_batch, bytes_per_sa, passes, machine, build; replay lines: \
      replay_window, ns_per_check).
      """)

  @Option(help: "Comma-separated SAD structures.")
  var structures: String = "sad-spi,sad-ns,sad-linear"

  @Option(help: "SA counts, comma-separated.")
  var sizes: String = "1000,10000,100000,1000000"

  @Option(help: "Namespace counts, comma-separated (1 = the default context only).")
  var namespaces: String = "1"

  @Option(help: "Inbound mode: kernel or rfc4301.")
  var mode: String = "kernel"

  @Option(help: "Lookups per pass.")
  var lookups: Int = 1_000_000

  @Option(help: "Percent of lookups for SPIs no SA has.")
  var missPercent: Int = 0

  @Option(help: "Timed passes (median reported).")
  var passes: Int = 5

  @Option(help: "Skip a structure and size when one pass would exceed this many seconds (linear at 100k).")
  var maxPassSeconds: Double = 10

  @Option(help: "The largest SA count sad-linear is built for (its inserts scan every SA: quadratic build).")
  var maxLinearSAs: Int = 20_000

  @Option(help: "Replay window sizes to time, comma-separated (empty: none).")
  var replayWindows: String = "64,1024,4096"

  @Option(help: "Write one JSON object per measurement per line to this file.")
  var json: String?

  @Option(help: "Random seed of the SA sets and lookups.")
  var seed: UInt64 = 1

  func validate() throws {
    guard lookups >= 1, passes >= 1 else { throw ValidationError("--lookups and --passes must be at least 1") }
    guard (0...100).contains(missPercent) else { throw ValidationError("--miss-percent must be in 0...100") }
    guard maxPassSeconds > 0, maxLinearSAs >= 0 else {
      throw ValidationError("--max-pass-seconds must be above 0 and --max-linear-sas at least 0")
    }
  }

  func run() throws {
    try reportingErrors {
      guard let inboundMode = InboundLookupMode(rawValue: mode) else {
        throw ValidationError("--mode: '\(mode)' is not kernel or rfc4301")
      }
      let names = try parseList(structures, "--structures", "an SAD structure") { name in
        StructureCatalog.securityAssociationDatabaseNames.contains(name) ? name : nil
      }
      let sizeList = try parseList(sizes, "--sizes", "a count >= 1") { Int($0).flatMap { $0 >= 1 ? $0 : nil } }
      let namespaceList = try parseList(namespaces, "--namespaces", "a count >= 1") { Int($0).flatMap { $0 >= 1 ? $0 : nil } }
      let windows = replayWindows.isEmpty ? [] : try parseList(replayWindows, "--replay-windows", "a size in 32...4096") {
        Int($0).flatMap { ReplayWindow.sizes.contains($0) ? $0 : nil }
      }
      print("lookupbench sad — \(machineDescription())")
      print("inbound mode \(mode); \(lookups) lookups per pass, uniformly random SAs, \(missPercent) % misses; "
            + "median of \(passes) passes; batches of 64; seed \(seed)\n")
      var rows: [[String]] = []
      var lines: [String] = []
      for size in sizeList {
        for namespaceCount in namespaceList {
          let workload = SADWorkload(size: size, namespaces: namespaceCount, lookups: lookups, missPercent: missPercent,
                                     mode: inboundMode, seed: seed)
          for name in names {
            if name == "sad-linear" && size > maxLinearSAs {
              rows.append([name, "\(size)", "\(namespaceCount)", "skipped (> --max-linear-sas)", "", "", "", ""])
              continue
            }
            let figures: SADFigures?
            switch name {
            case "sad-spi": figures = try measureSAD({ SPIHashTable(inboundMode: inboundMode) }, workload, passes, maxPassSeconds)
            case "sad-ns":
              figures = try measureSAD({ NamespacedSAD(inboundMode: inboundMode, maximumPerNamespace: .max) }, workload, passes,
                                       maxPassSeconds)
            default: figures = try measureSAD({ LinearSAD(inboundMode: inboundMode) }, workload, passes, maxPassSeconds)
            }
            guard let figures else {
              rows.append([name, "\(size)", "\(namespaceCount)", "skipped (pass > \(Int(maxPassSeconds)) s)", "", "", "", ""])
              continue
            }
            rows.append([name, "\(size)", "\(namespaceCount)", String(format: "%.0f", figures.insertsPerSecond),
                         String(format: "%.0f", figures.deletesPerSecond), String(format: "%.1f", figures.single),
                         String(format: "%.1f", figures.batch), String(format: "%.0f", figures.bytesPerSA)])
            lines.append(JSONLine.object([
              ("structure", JSONLine.string(name)), ("mode", JSONLine.string(mode)), ("sas", "\(size)"),
              ("namespaces", "\(namespaceCount)"), ("lookups", "\(lookups)"), ("miss_percent", "\(missPercent)"),
              ("insert_per_s", JSONLine.number(figures.insertsPerSecond, decimals: 0)),
              ("delete_per_s", JSONLine.number(figures.deletesPerSecond, decimals: 0)),
              ("ns_per_lookup", JSONLine.number(figures.single)), ("ns_per_lookup_batch", JSONLine.number(figures.batch)),
              ("bytes_per_sa", JSONLine.number(figures.bytesPerSA, decimals: 1)), ("passes", "\(passes)"),
              ("seed", "\(seed)"), ("machine", JSONLine.string(machineDescription())),
              ("build", JSONLine.string(isOptimizedBuild ? "release" : "debug")),
            ]))
          }
        }
      }
      print(markdownTable(header: ["structure", "SAs", "namespaces", "inserts/s", "deletes/s", "ns/lookup",
                                   "ns/lookup (64)", "B/SA"], rows: rows))
      if !windows.isEmpty {
        var replayRows: [[String]] = []
        for size in windows {
          let nanoseconds = measureReplay(windowSize: size, passes: passes, seed: seed)
          replayRows.append(["\(size)", String(format: "%.2f", nanoseconds)])
          lines.append(JSONLine.object([
            ("replay_window", "\(size)"), ("ns_per_check", JSONLine.number(nanoseconds)), ("passes", "\(passes)"),
            ("machine", JSONLine.string(machineDescription())),
            ("build", JSONLine.string(isOptimizedBuild ? "release" : "debug")),
          ]))
        }
        print("\nReplay window: check and update of 1,000,000 numbers (1 % late by up to the window)\n")
        print(markdownTable(header: ["window", "ns/check+update"], rows: replayRows))
      }
      if let json {
        try writeLines(lines, to: json)
        print("\nJSON: \(json)")
      }
    }
  }
}

/// SAs and lookup keys for one size and namespace count.
struct SADWorkload {
  var securityAssociations: [SecurityAssociation]
  var keys: [SALookupKey]

  init(size: Int, namespaces: Int, lookups: Int, missPercent: Int, mode: InboundLookupMode, seed: UInt64) {
    var rng = SplitMix64(seed: seed &* 0x9E37 &+ UInt64(size) &+ UInt64(namespaces) << 40)
    let destinations = (1...16).map { IPAddress(ipv4: 0x0A00_0000 | UInt32($0)) }
    let pool = namespaces == 1 ? 0 : max(1, size / namespaces)
    let spiPool = (0..<pool).map { _ in UInt32.random(in: 256...UInt32.max, using: &rng) }
    var used = Set<SALookupKey>()
    var sas: [SecurityAssociation] = []
    sas.reserveCapacity(size)
    var i = 0
    while sas.count < size {
      let namespace = UInt32(i % namespaces)
      let spi = pool == 0 ? UInt32.random(in: 256...UInt32.max, using: &rng)
                          : spiPool[Int.random(in: 0..<pool, using: &rng)]
      let destination = destinations[Int.random(in: 0..<16, using: &rng)]
      i += 1
      let key = SALookupKey(destination: destination, spi: spi, namespace: namespace)
      guard used.insert(key).inserted else { continue }
      guard let sa = try? SecurityAssociation(id: UInt32(sas.count + 1), spi: spi, destination: destination,
                                              source: IPAddress(ipv4: 0xC0A8_0000 | UInt32(sas.count & 0xFFFF)),
                                              namespace: namespace) else { continue }
      sas.append(sa)
    }
    securityAssociations = sas
    keys = (0..<lookups).map { _ in
      let sa = sas[Int.random(in: 0..<sas.count, using: &rng)]
      if Int.random(in: 0..<100, using: &rng) < missPercent {
        return SALookupKey(destination: sa.destination, spi: UInt32.random(in: 256...UInt32.max, using: &rng),
                           namespace: sa.namespace)
      }
      return SALookupKey(destination: sa.destination, source: sa.source, spi: sa.spi, namespace: sa.namespace)
    }
  }
}

struct SADFigures {
  var insertsPerSecond: Double
  var deletesPerSecond: Double
  var single: Double
  var batch: Double
  var bytesPerSA: Double
}

/// Measures one SAD type (specialised: every loop is a direct call).
@inline(never)
func measureSAD<D: SecurityAssociationDatabase>(_ make: () -> D, _ workload: SADWorkload, _ passes: Int,
                                                _ maxPassSeconds: Double) throws -> SADFigures? {
  var sad = make()
  let sas = workload.securityAssociations
  let buildStart = monotonicNanoseconds()
  for sa in sas { try sad.insert(sa) }
  let buildSeconds = Double(monotonicNanoseconds() - buildStart) / 1e9
  let probe = Array(workload.keys.prefix(max(1, min(workload.keys.count / 100, 2000))))
  if median(measureSingleLookups(sad, keys: probe, passes: 1)) * Double(workload.keys.count) / 1e9 > maxPassSeconds {
    return nil
  }
  var rng = SplitMix64(seed: 7)
  let victims = Array(sas.shuffled(using: &rng).prefix(max(1, sas.count / 10)))
  let removeStart = monotonicNanoseconds()
  for sa in victims { try sad.remove(sa.id) }
  let removeSeconds = Double(monotonicNanoseconds() - removeStart) / 1e9
  for sa in victims { try sad.insert(sa) }
  let single = median(measureSingleLookups(sad, keys: workload.keys, passes: passes))
  let batch = median(measureBatchedLookups(sad, keys: workload.keys, batchSize: 64, passes: passes))
  return SADFigures(insertsPerSecond: Double(sas.count) / buildSeconds, deletesPerSecond: Double(victims.count) / removeSeconds,
                    single: single, batch: batch, bytesPerSA: Double(sad.memoryFootprint) / Double(sas.count))
}

/// Median ns per check-and-update over 1,000,000 numbers: in order, 1 % late by up to the window.
@inline(never)
func measureReplay(windowSize: Int, passes: Int, seed: UInt64) -> Double {
  var rng = SplitMix64(seed: seed)
  var sequence: [UInt64] = []
  sequence.reserveCapacity(1_000_000)
  var next: UInt64 = 1
  for _ in 0..<1_000_000 {
    if Int.random(in: 0..<100, using: &rng) == 0 && next > UInt64(windowSize) {
      sequence.append(next - UInt64.random(in: 1...UInt64(windowSize), using: &rng))
    } else {
      sequence.append(next)
      next += 1
    }
  }
  var figures: [Double] = []
  for _ in 0..<passes {
    // The window is valid: its size comes from a checked list.
    guard var window = try? ReplayWindow(size: windowSize) else { return .nan }
    var accepted = 0
    let start = monotonicNanoseconds()
    sequence.withUnsafeBufferPointer { numbers in
      for number in numbers where window.checkAndUpdate(number) == .accepted { accepted &+= 1 }
    }
    figures.append(Double(monotonicNanoseconds() - start) / Double(sequence.count))
    measurementSink &+= UInt32(truncatingIfNeeded: accepted)
  }
  return median(figures)
}
